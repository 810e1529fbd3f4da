// The transcripts and key schedules of DESIGN "Encryption", byte for byte. Browser-safe.
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { concatBytes, toBase64Url, utf8 } from "./encoding.ts";

const ZERO = new Uint8Array([0]);

/** th = SHA-256("auditor/handshake/v1" ‖ 0x00 ‖ sessionId ‖ 0x00 ‖ clientPub ‖ serverPub). */
export function sessionTranscript(
  sessionId: string,
  clientPublicKey: Uint8Array,
  serverPublicKey: Uint8Array,
): Uint8Array {
  return sha256(
    concatBytes(
      utf8("auditor/handshake/v1"),
      ZERO,
      utf8(sessionId),
      ZERO,
      clientPublicKey,
      serverPublicKey,
    ),
  );
}

export interface SessionKeys {
  /** Server → client events. */
  s2c: Uint8Array;
  /** Client → server control messages. */
  c2s: Uint8Array;
  /**
   * Server → client replies to control messages (nonce from the request's seq), kept apart from
   * s2c so a reply can never reuse an event's nonce. An addition to DESIGN: see docs/protocol.md.
   */
  reply: Uint8Array;
  /** Bearer token for the session's GET endpoints; both ends derive it, intermediaries cannot. */
  token: string;
}

/** HKDF-SHA256(ikm, salt, info) to `length` bytes. */
export type HkdfSha256 = (
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
) => Uint8Array;

const nobleHkdf: HkdfSha256 = (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length);

/** The session's keys; `derive` lets the server use its runtime's native HKDF (same bytes). */
export function deriveSessionKeys(
  shared: Uint8Array,
  transcript: Uint8Array,
  derive: HkdfSha256 = nobleHkdf,
): SessionKeys {
  const key = (info: string) => derive(shared, transcript, utf8(info), 32);
  return {
    s2c: key("auditor/v1 s2c"),
    c2s: key("auditor/v1 c2s"),
    reply: key("auditor/v1 reply"),
    token: toBase64Url(key("auditor/v1 token")),
  };
}

/** th = SHA-256("auditor/invoke/v1" ‖ 0x00 ‖ fn ‖ 0x00 ‖ epk ‖ invokeKey). */
export function invokeTranscript(
  fn: string,
  ephemeralPublicKey: Uint8Array,
  invokePublicKey: Uint8Array,
): Uint8Array {
  return sha256(
    concatBytes(
      utf8("auditor/invoke/v1"),
      ZERO,
      utf8(fn),
      ZERO,
      ephemeralPublicKey,
      invokePublicKey,
    ),
  );
}

export function deriveInvokeKeys(
  shared: Uint8Array,
  transcript: Uint8Array,
): { request: Uint8Array; response: Uint8Array } {
  return {
    request: hkdf(sha256, shared, transcript, utf8("auditor/v1 req"), 32),
    response: hkdf(sha256, shared, transcript, utf8("auditor/v1 res"), 32),
  };
}

/** Single-use keys: the sealed invoke nonce is 12 zero bytes. */
export const INVOKE_NONCE = new Uint8Array(12);

/**
 * Middleware ↔ extracted runtime (K_mr): th = SHA-256("auditor/runtime/v1" ‖ 0x00 ‖ channelId ‖
 * 0x00 ‖ runtimeKey ‖ runtimeEphemeral ‖ middlewareEphemeral ‖ middlewareIdentityKey); both
 * long-term keys sign th, so each side proves the key the other pinned.
 */
export function runtimeTranscript(
  channelId: string,
  runtimeKey: Uint8Array,
  runtimeEphemeral: Uint8Array,
  middlewareEphemeral: Uint8Array,
  middlewareKey: Uint8Array,
): Uint8Array {
  return sha256(
    concatBytes(
      utf8("auditor/runtime/v1"),
      ZERO,
      utf8(channelId),
      ZERO,
      runtimeKey,
      runtimeEphemeral,
      middlewareEphemeral,
      middlewareKey,
    ),
  );
}

export function deriveRuntimeKeys(
  shared: Uint8Array,
  transcript: Uint8Array,
): { m2r: Uint8Array; r2m: Uint8Array } {
  return {
    m2r: hkdf(sha256, shared, transcript, utf8("auditor/v1 m2r"), 32),
    r2m: hkdf(sha256, shared, transcript, utf8("auditor/v1 r2m"), 32),
  };
}

/**
 * Instance ↔ instance of one app (K_peer): th = SHA-256("auditor/peer/v1" ‖ 0x00 ‖ channelId ‖
 * 0x00 ‖ dialerInstanceId ‖ 0x00 ‖ listenerInstanceId ‖ 0x00 ‖ identityKey ‖ dialerEphemeral ‖
 * listenerEphemeral). Both ends hold the same identity key, so each signs th under its own role
 * label (peerSignedMessage): a signature one side made can never pass as the other side's.
 */
export function peerTranscript(
  channelId: string,
  dialerId: string,
  listenerId: string,
  identityKey: Uint8Array,
  dialerEphemeral: Uint8Array,
  listenerEphemeral: Uint8Array,
): Uint8Array {
  return sha256(
    concatBytes(
      utf8("auditor/peer/v1"),
      ZERO,
      utf8(channelId),
      ZERO,
      utf8(dialerId),
      ZERO,
      utf8(listenerId),
      ZERO,
      identityKey,
      dialerEphemeral,
      listenerEphemeral,
    ),
  );
}

/** What each end signs: "auditor/peer/v1 dialer" or "… listener" ‖ 0x00 ‖ th. */
export function peerSignedMessage(role: "dialer" | "listener", transcript: Uint8Array): Uint8Array {
  return concatBytes(utf8(`auditor/peer/v1 ${role}`), ZERO, transcript);
}

export function derivePeerKeys(
  shared: Uint8Array,
  transcript: Uint8Array,
): { d2l: Uint8Array; l2d: Uint8Array } {
  return {
    d2l: hkdf(sha256, shared, transcript, utf8("auditor/v1 peer d2l"), 32),
    l2d: hkdf(sha256, shared, transcript, utf8("auditor/v1 peer l2d"), 32),
  };
}
