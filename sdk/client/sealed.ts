// A sealed invoke (DESIGN "Encryption"): the request is readable only inside the attested
// server, the response only by this caller.
import { aesGcmOpen, aesGcmSeal } from "../crypto/aes-gcm.ts";
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from "../crypto/encoding.ts";
import { deriveInvokeKeys, INVOKE_NONCE, invokeTranscript } from "../crypto/handshake.ts";
import { agreeEphemeral } from "../crypto/p256.ts";
import type { AttestationStatement } from "../wire/attestation.ts";
import { ProtocolError } from "./errors.ts";

/** The sealed receipt's nonce under the response key: 11 zero bytes ‖ 0x01 (DESIGN "Receipts"). */
const RECEIPT_NONCE = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

export interface SealedRequest {
  body: { v: 1; kid: string; epk: string; ct: string };
  /** The request plaintext exactly as sealed (its receipt hashes these bytes). */
  plaintext: Uint8Array;
  /** Opens the response body `{ v: 1, ct, rct? }`: the answer, its exact bytes, and the receipt JSON when there is one. */
  open(response: unknown): Promise<{ value: unknown; bytes: Uint8Array; receipt?: unknown }>;
}

export async function sealRequest(
  fn: string,
  input: unknown,
  statement: Pick<AttestationStatement, "invokeKey" | "kid">,
  now = Date.now(),
): Promise<SealedRequest> {
  const invokeKey = fromBase64Url(statement.invokeKey);
  const { publicKey: epk, sharedX } = await agreeEphemeral(invokeKey);
  const keys = deriveInvokeKeys(sharedX, invokeTranscript(fn, epk, invokeKey));
  const plaintext = utf8(JSON.stringify({ ts: now, input }));
  const ct = await aesGcmSeal(keys.request, INVOKE_NONCE, plaintext);
  return {
    body: { v: 1, kid: statement.kid, epk: toBase64Url(epk), ct: toBase64Url(ct) },
    plaintext,
    async open(response) {
      const sealed = response as { v?: unknown; ct?: unknown; rct?: unknown };
      if (sealed?.v !== 1 || typeof sealed.ct !== "string")
        throw new ProtocolError("the sealed response is not { v: 1, ct }");
      let bytes: Uint8Array;
      let value: unknown;
      try {
        bytes = await aesGcmOpen(keys.response, INVOKE_NONCE, fromBase64Url(sealed.ct));
        value = JSON.parse(fromUtf8(bytes));
      } catch {
        throw new ProtocolError("the sealed response does not open");
      }
      if (typeof sealed.rct !== "string") return { value, bytes };
      try {
        return {
          value,
          bytes,
          receipt: JSON.parse(
            fromUtf8(await aesGcmOpen(keys.response, RECEIPT_NONCE, fromBase64Url(sealed.rct))),
          ),
        };
      } catch {
        throw new ProtocolError("the sealed receipt does not open");
      }
    },
  };
}
