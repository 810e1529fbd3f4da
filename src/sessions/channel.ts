// How a session's lines are framed: plaintext NDJSON, or (DESIGN "Encryption") a pinned-key
// handshake in session_init and an AES-GCM envelope for every later event, with client control
// messages arriving as envelopes under the c2s key and replies sealed under the reply key.
import { DecryptError } from "../../sdk/crypto/aes-gcm.ts";
import { fromBase64Url, toBase64Url } from "../../sdk/crypto/encoding.ts";
import {
  agreeEphemeralNative,
  hkdfSha256Native,
  openSealedNative,
  sealEnvelopeNative,
  signP256Native,
  type P256KeyPair,
} from "../crypto/index.ts";
import {
  deriveSessionKeys,
  sessionTranscript,
  type SessionKeys,
} from "../../sdk/crypto/handshake.ts";
import { validatePublicKey } from "../../sdk/crypto/p256.ts";
import { EventSealer } from "./sealer.ts";
import {
  PROTOCOL_VERSION,
  type EncLine,
  type EventPayload,
  type SessionEvent,
} from "../../sdk/wire/sessions.ts";

export type Handshake = EventPayload<"session_init">["encryption"];

/** An authentic control envelope that breaks the protocol: the session ends. */
export class ControlViolation extends Error {
  override name = "ControlViolation";
}

/** What a control envelope carries once opened. */
export interface ControlMessage {
  seq: number;
  type: string;
  body: unknown;
}

export type { EncLine };

export interface SessionChannel {
  readonly encrypted: boolean;
  /** What session_init says about encryption. */
  readonly handshake: Handshake;
  /** The token for the session's bearer-authorized endpoints. */
  readonly token: string;
  /** The line for one event (sealing is native and synchronous, so lines leave in seq order). */
  encode(event: SessionEvent): string;
}

export class PlainChannel implements SessionChannel {
  readonly encrypted = false;
  readonly handshake: Handshake = { enabled: false };
  readonly token = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));

  encode(event: SessionEvent): string {
    return JSON.stringify(event);
  }
}

export class EncryptedChannel implements SessionChannel {
  readonly encrypted = true;
  readonly token: string;
  private readonly sealer: EventSealer;
  private nextControlSeq = 1;

  private constructor(
    private readonly sessionId: string,
    private readonly kid: string,
    private readonly keys: SessionKeys,
    readonly handshake: Handshake,
  ) {
    this.token = keys.token;
    this.sealer = new EventSealer(keys.s2c, sessionId, kid);
  }

  /** The server half of the handshake; throws InvalidPublicKeyError for a client key that is not a valid P-256 point. */
  static async create(
    sessionId: string,
    clientPublicKeyB64: string,
    identity: P256KeyPair,
    kid: string,
  ): Promise<EncryptedChannel> {
    const clientPublicKey = validatePublicKey(decodeKey(clientPublicKeyB64));
    const server = agreeEphemeralNative(clientPublicKey);
    const transcript = sessionTranscript(sessionId, clientPublicKey, server.publicKey);
    return new EncryptedChannel(
      sessionId,
      kid,
      deriveSessionKeys(server.sharedX, transcript, hkdfSha256Native),
      {
        enabled: true,
        kid,
        serverPublicKey: toBase64Url(server.publicKey),
        signature: toBase64Url(signP256Native(transcript, identity)),
      },
    );
  }

  encode(event: SessionEvent): string {
    // session_init carries the handshake itself, so it is the one plaintext line.
    if (event.type === "session_init") return JSON.stringify(event);
    return this.sealer.sealLine(event.seq, JSON.stringify(event));
  }

  /**
   * Opens a client control envelope. Only exactly the next seq opens, and only an authentic
   * envelope (its tag verifies under the c2s key) uses it up: a forgery, a replay or garbage is
   * refused with the one DecryptError and changes nothing, since anyone on the path can send
   * those. An authentic envelope whose plaintext breaks the protocol (not `{ seq, type, body }`
   * with the outer seq) is a ControlViolation: only the key holder can send one.
   */
  openControl(line: EncLine): ControlMessage {
    if (line.sessionId !== this.sessionId || line.seq !== this.nextControlSeq)
      throw new DecryptError();
    // Synchronous from the check to the increment: a concurrent duplicate finds the seq spent.
    const plain = openSealedNative(this.keys.c2s, this.sessionId, line.seq, this.kid, line.payload);
    this.nextControlSeq++;
    let inner: { seq?: unknown; type?: unknown; body?: unknown } | null;
    try {
      inner = JSON.parse(plain);
    } catch {
      throw new ControlViolation();
    }
    if (
      !inner ||
      typeof inner !== "object" ||
      inner.seq !== line.seq ||
      typeof inner.type !== "string" ||
      !("body" in inner)
    ) {
      throw new ControlViolation();
    }
    return { seq: line.seq, type: inner.type, body: inner.body };
  }

  /** The reply to control message `seq`: `{ seq, status, body }` under the reply key. */
  sealReply(seq: number, status: number, body: unknown): EncLine {
    const payload = sealEnvelopeNative(
      this.keys.reply,
      this.sessionId,
      seq,
      this.kid,
      JSON.stringify({ seq, status, body }),
    );
    return {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: this.sessionId,
      seq,
      type: "enc",
      payload,
    };
  }
}

function decodeKey(text: string): Uint8Array {
  try {
    return fromBase64Url(text);
  } catch {
    return new Uint8Array(0); // fails validation with the standard message
  }
}
