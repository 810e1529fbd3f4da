// Sealed invokes (DESIGN "Encryption"): POST /invoke/:fn with an application/auditor-sealed+json
// body { v: 1, kid, epk, ct }. ECDH against the invoke key, th = SHA-256("auditor/invoke/v1" ‖
// 0x00 ‖ fn ‖ 0x00 ‖ epk ‖ invokeKey), single-use request/response keys, a zero nonce. The
// plaintext { ts, input } must be within 60 s, and each epk opens at most once: its response
// key can seal exactly one response, so a replay must never get a second sealed answer. "Once"
// is per key, not per spelling: epk and ct must be canonical base64url (four texts would decode
// to one 65-byte key otherwise), and the replay cache is keyed by the decoded key.
import { z } from "zod";
import { aesGcmOpen, aesGcmSeal } from "../../sdk/crypto/aes-gcm.ts";
import { fromBase64Url, fromUtf8, toBase64Url } from "../../sdk/crypto/encoding.ts";
import { deriveInvokeKeys, INVOKE_NONCE, invokeTranscript } from "../../sdk/crypto/handshake.ts";
import type { P256KeyPair } from "../crypto/index.ts";
import {
  deriveSharedX,
  importEcdhPrivateKey,
  InvalidPublicKeyError,
  validatePublicKey,
} from "../../sdk/crypto/p256.ts";
import { CanonicalBase64Url } from "../../sdk/wire/attestation.ts";

export const SEALED_CONTENT_TYPE = "application/auditor-sealed+json";
export const SEALED_WINDOW_MS = 60_000;

export const SealedRequestSchema = z
  .object({
    v: z.literal(1),
    kid: z.string().max(64),
    epk: CanonicalBase64Url.check(z.minLength(1), z.maxLength(200)),
    ct: CanonicalBase64Url.check(z.minLength(1)),
  })
  .strict();
const SealedPlaintextSchema = z.object({ ts: z.number().int(), input: z.unknown() }).strict();
/** The answer to an opened request (with the function's status): its JSON and receipt, sealed. */
export const SealedResponseSchema = z
  .object({ v: z.literal(1), ct: CanonicalBase64Url, rct: CanonicalBase64Url })
  .strict();
export type SealedResponse = z.infer<typeof SealedResponseSchema>;

/** A refusal, answered in plain JSON (nothing is sealed for a request that did not open). */
export interface SealedRefusal {
  status: 400 | 409 | 503;
  error: string;
  message: string;
}

/** A receipt sealed under the response key uses the one other nonce: 11 zero bytes ‖ 0x01. */
export const RECEIPT_NONCE = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

export interface OpenedRequest {
  input: unknown;
  /** The decrypted request plaintext, exactly (its receipt hashes these bytes). */
  plaintext: Uint8Array;
  /** Seals the one response this request gets and its receipt: `{ v: 1, ct, rct }`. */
  seal(response: Uint8Array, receipt: Uint8Array): Promise<SealedResponse>;
}

export class SealedInvoker {
  /** epk bytes (as canonical base64url) → when it may be forgotten (insertion order is expiry order). */
  private readonly seen = new Map<string, number>();
  private ecdhKey: Promise<CryptoKey> | undefined;

  constructor(
    private readonly invokeKey: P256KeyPair,
    private readonly kid: string,
    private readonly maxRemembered = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  async open(fn: string, body: unknown): Promise<OpenedRequest | SealedRefusal> {
    const parsed = SealedRequestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return {
        status: 400,
        error: "invalid_request",
        message: `${issue.path.join(".") || "body"}: ${issue.message}`,
      };
    }
    const { kid, epk, ct } = parsed.data;
    if (kid !== this.kid)
      return {
        status: 400,
        error: "unknown_kid",
        message: `kid: this server's key is ${this.kid}; fetch /attestation again`,
      };
    let ephemeral: Uint8Array;
    try {
      ephemeral = validatePublicKey(fromBase64Url(epk));
    } catch (err) {
      return {
        status: 400,
        error: "invalid_request",
        message: `epk: ${err instanceof InvalidPublicKeyError ? err.message : "not base64url"}`,
      };
    }
    const transcript = invokeTranscript(fn, ephemeral, this.invokeKey.publicKey);
    this.ecdhKey ??= importEcdhPrivateKey(this.invokeKey);
    const keys = deriveInvokeKeys(await deriveSharedX(await this.ecdhKey, ephemeral), transcript);
    let plaintext: unknown;
    let bytes: Uint8Array;
    try {
      bytes = await aesGcmOpen(keys.request, INVOKE_NONCE, fromBase64Url(ct));
      plaintext = JSON.parse(fromUtf8(bytes));
    } catch {
      return {
        status: 400,
        error: "decrypt_failed",
        message: "the request could not be decrypted",
      };
    }
    // Opened: the epk is spent now, whatever follows, so it can never get a second response.
    // Keyed by the key's bytes (canonically re-encoded), never by the text the client sent.
    const replay = this.remember(toBase64Url(ephemeral));
    if (replay) return replay;
    const inner = SealedPlaintextSchema.safeParse(plaintext);
    if (!inner.success)
      return {
        status: 400,
        error: "invalid_request",
        message: "the sealed plaintext must be { ts, input }",
      };
    if (Math.abs(this.now() - inner.data.ts) > SEALED_WINDOW_MS) {
      return {
        status: 400,
        error: "stale_request",
        message: `ts: more than ${SEALED_WINDOW_MS / 1000} s from the server's clock`,
      };
    }
    return {
      input: inner.data.input,
      plaintext: bytes,
      seal: async (response, receipt) => ({
        v: 1,
        ct: toBase64Url(await aesGcmSeal(keys.response, INVOKE_NONCE, response)),
        rct: toBase64Url(await aesGcmSeal(keys.response, RECEIPT_NONCE, receipt)),
      }),
    };
  }

  private remember(epk: string): SealedRefusal | undefined {
    const now = this.now();
    for (const [key, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(key);
    }
    if (this.seen.has(epk))
      return {
        status: 409,
        error: "replayed",
        message: "this sealed request was already received",
      };
    if (this.seen.size >= this.maxRemembered)
      return {
        status: 503,
        error: "busy",
        message: "too many sealed requests in the last two minutes; retry shortly",
      };
    // A ts may be up to the window ahead or behind: remember for both.
    this.seen.set(epk, now + 2 * SEALED_WINDOW_MS);
    return undefined;
  }
}
