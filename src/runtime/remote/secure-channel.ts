// One WebSocket between the middleware and an extracted runtime, mutually authenticated with
// pinned keys and sealed with its own handshake (K_mr): the runtime says hello with its
// long-term key and an ephemeral; the middleware answers with its ephemeral, identity key and a
// signature over the transcript; the runtime signs it back. Then every message is an AES-GCM
// envelope (native and synchronous: src/crypto/native-envelope.ts) with its own seq per
// direction: anything out of order, tampered or unsigned closes the channel.
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "../../../sdk/crypto/encoding.ts";
import {
  openEnvelopeNative,
  sealEnvelopeNative,
  signP256,
  type P256KeyPair,
} from "../../crypto/index.ts";
import { deriveRuntimeKeys, runtimeTranscript } from "../../../sdk/crypto/handshake.ts";
import { keyId } from "../../../sdk/crypto/keys.ts";
import {
  agreeEphemeral,
  deriveSharedX,
  validatePublicKey,
  verifyP256,
} from "../../../sdk/crypto/p256.ts";
import { isPinned } from "../../../sdk/crypto/pin.ts";
import { CanonicalBase64Url } from "../../../sdk/wire/attestation.ts";
import { EnvelopePayloadSchema } from "../../../sdk/wire/sessions.ts";

/** The little a channel needs from a WebSocket, on either side. */
export interface Wire {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

export class ChannelError extends Error {
  override name = "ChannelError";
}

const KID = "K_mr";
const B64 = CanonicalBase64Url.check(z.minLength(1));
const Hello = z
  .object({
    type: z.literal("hello"),
    channelId: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    runtimeKey: B64,
    ephemeral: B64,
  })
  .strict();
const Welcome = z
  .object({ type: z.literal("welcome"), identityKey: B64, ephemeral: B64, signature: B64 })
  .strict();
const Auth = z.object({ type: z.literal("auth"), signature: B64 }).strict();
const Sealed = z.object({ seq: z.number().int().min(1), payload: EnvelopePayloadSchema }).strict();

/** Is this key (or its kid) one of the pins? The SDK's rule, for raw key bytes. */
const pinned = (key: Uint8Array, pins: readonly string[]) =>
  isPinned({ identityKey: toBase64Url(key), kid: keyId(key) }, pins);

export class SecureChannel {
  private sendSeq = 0;
  private receiveSeq = 0;
  private handler: (message: Record<string, unknown>) => void = () => {};
  private closedHandler: (reason: string) => void = () => {};
  private closed = false;

  constructor(
    private readonly wire: Wire,
    private readonly channelId: string,
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
    /** The other side's long-term key id (for logs and routing). */
    readonly peerKid: string,
    /** The envelopes' kid: K_mr here; the instance-to-instance channel reuses this with K_peer. */
    private readonly kid = KID,
  ) {}

  onMessage(handler: (message: Record<string, unknown>) => void): void {
    this.handler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    this.closedHandler = handler;
  }

  send(message: Record<string, unknown>): void {
    if (this.closed) return;
    const seq = ++this.sendSeq;
    const payload = sealEnvelopeNative(
      this.sendKey,
      this.channelId,
      seq,
      this.kid,
      JSON.stringify({ ...message, seq }),
    );
    this.wire.send(JSON.stringify({ seq, payload }));
  }

  /** Feeds one raw frame from the wire; a bad one closes the channel. */
  receive(text: string): void {
    if (this.closed) return;
    let inner: Record<string, unknown>;
    try {
      const frame = Sealed.parse(JSON.parse(text));
      const expected = this.receiveSeq + 1;
      if (frame.seq !== expected)
        throw new ChannelError(`expected seq ${expected}, got ${frame.seq}`);
      inner = openEnvelopeNative(
        this.receiveKey,
        this.channelId,
        expected,
        this.kid,
        frame.payload,
      );
      if (inner.seq !== expected)
        throw new ChannelError(
          `the sealed seq ${String(inner.seq)} is not the frame's ${expected}`,
        );
      this.receiveSeq = expected;
    } catch (err) {
      return this.close(`refused a frame: ${(err as Error).message}`);
    }
    const { seq: _seq, ...message } = inner;
    this.handler(message);
  }

  /** The wire went away (or we close it): reported once. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.wire.close(1008, reason.slice(0, 120));
    this.closedHandler(reason);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** Runtime side, step 1: the hello to send, and how to finish once the welcome arrives. */
export async function startRuntimeHandshake(runtimeKey: P256KeyPair, pins: readonly string[]) {
  const channelId = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  const ephemeral = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const ephemeralPublic = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
  return {
    hello: JSON.stringify({
      type: "hello",
      channelId,
      runtimeKey: toBase64Url(runtimeKey.publicKey),
      ephemeral: toBase64Url(ephemeralPublic),
    }),
    /** Checks the welcome against the pins; returns the auth reply and the ready channel. */
    async finish(
      welcomeText: string,
      wire: Wire,
    ): Promise<{ auth: string; channel: SecureChannel }> {
      const welcome = Welcome.parse(JSON.parse(welcomeText));
      const middlewareKey = validatePublicKey(fromBase64Url(welcome.identityKey));
      if (!pinned(middlewareKey, pins))
        throw new ChannelError(`the middleware's key (kid ${keyId(middlewareKey)}) is not pinned`);
      const middlewareEphemeral = validatePublicKey(fromBase64Url(welcome.ephemeral));
      const th = runtimeTranscript(
        channelId,
        runtimeKey.publicKey,
        ephemeralPublic,
        middlewareEphemeral,
        middlewareKey,
      );
      if (!(await verifyP256(fromBase64Url(welcome.signature), th, middlewareKey)))
        throw new ChannelError("the middleware's signature does not verify");
      const keys = deriveRuntimeKeys(
        await deriveSharedX(ephemeral.privateKey, middlewareEphemeral),
        th,
      );
      return {
        auth: JSON.stringify({
          type: "auth",
          signature: toBase64Url(signP256(th, runtimeKey.privateKey)),
        }),
        channel: new SecureChannel(wire, channelId, keys.r2m, keys.m2r, keyId(middlewareKey)),
      };
    },
  };
}

/** Middleware side: answers a hello from a pinned runtime; `finish` checks its auth. */
export async function answerRuntimeHello(
  helloText: string,
  identity: P256KeyPair,
  pins: readonly string[],
) {
  const hello = Hello.parse(JSON.parse(helloText));
  const runtimeKey = validatePublicKey(fromBase64Url(hello.runtimeKey));
  if (!pinned(runtimeKey, pins))
    throw new ChannelError(
      `runtime key kid ${keyId(runtimeKey)} is not pinned (AUDITOR_RUNTIME_KEYS)`,
    );
  const runtimeEphemeral = validatePublicKey(fromBase64Url(hello.ephemeral));
  const ours = await agreeEphemeral(runtimeEphemeral);
  const th = runtimeTranscript(
    hello.channelId,
    runtimeKey,
    runtimeEphemeral,
    ours.publicKey,
    identity.publicKey,
  );
  const keys = deriveRuntimeKeys(ours.sharedX, th);
  return {
    welcome: JSON.stringify({
      type: "welcome",
      identityKey: toBase64Url(identity.publicKey),
      ephemeral: toBase64Url(ours.publicKey),
      signature: toBase64Url(signP256(th, identity.privateKey)),
    }),
    async finish(authText: string, wire: Wire): Promise<SecureChannel> {
      const auth = Auth.parse(JSON.parse(authText));
      if (!(await verifyP256(fromBase64Url(auth.signature), th, runtimeKey)))
        throw new ChannelError("the runtime's signature does not verify");
      return new SecureChannel(wire, hello.channelId, keys.m2r, keys.r2m, keyId(runtimeKey));
    },
  };
}
