// Encrypted envelopes for session lines (DESIGN "Encryption"): nonce = 4 zero bytes ‖ seq as
// 8-byte big-endian, AAD = "auditor/v1|<sessionId>|<seq>|<kid>", ciphertext with its tag. A
// receiver accepts exactly the next seq and nothing else, so nothing is opened twice; every
// refusal is the same DecryptError (no oracle). Browser-safe.
import { aesGcmOpen, aesGcmSeal, DecryptError } from "./aes-gcm.ts";
import { fromBase64, fromUtf8, toBase64, utf8 } from "./encoding.ts";
import type { EnvelopePayload } from "../wire/sessions.ts";

export type { EnvelopePayload };

export function envelopeNonce(seq: number): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error("seq must be a positive safe integer");
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(seq));
  return nonce;
}

export function envelopeAad(sessionId: string, seq: number, kid: string): Uint8Array {
  return utf8(`auditor/v1|${sessionId}|${seq}|${kid}`);
}

export async function sealEnvelope(
  key: Uint8Array,
  sessionId: string,
  seq: number,
  kid: string,
  plaintext: string,
): Promise<EnvelopePayload> {
  const nonce = envelopeNonce(seq);
  const ciphertext = await aesGcmSeal(
    key,
    nonce,
    utf8(plaintext),
    envelopeAad(sessionId, seq, kid),
  );
  return { kid, nonceB64: toBase64(nonce), ciphertextB64: toBase64(ciphertext) };
}

/** Opens one envelope that must carry exactly `seq`; the plaintext JSON must repeat that seq. */
export async function openEnvelope(
  key: Uint8Array,
  sessionId: string,
  seq: number,
  kid: string,
  payload: EnvelopePayload,
): Promise<Record<string, unknown>> {
  const expectedNonce = toBase64(envelopeNonce(seq));
  if (payload.kid !== kid || payload.nonceB64 !== expectedNonce) throw new DecryptError();
  let ciphertext: Uint8Array;
  try {
    ciphertext = fromBase64(payload.ciphertextB64);
  } catch {
    throw new DecryptError();
  }
  const plaintext = await aesGcmOpen(
    key,
    fromBase64(expectedNonce),
    ciphertext,
    envelopeAad(sessionId, seq, kid),
  );
  let inner: unknown;
  try {
    inner = JSON.parse(fromUtf8(plaintext));
  } catch {
    throw new DecryptError();
  }
  if (
    !inner ||
    typeof inner !== "object" ||
    Array.isArray(inner) ||
    (inner as { seq?: unknown }).seq !== seq
  )
    throw new DecryptError();
  return inner as Record<string, unknown>;
}
