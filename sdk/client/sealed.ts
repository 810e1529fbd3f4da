// A sealed invoke (DESIGN "Encryption"): the request is readable only inside the attested
// server, the response only by this caller.
import { aesGcmOpen, aesGcmSeal } from "../../src/crypto/aes-gcm.ts";
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from "../../src/crypto/encoding.ts";
import { deriveInvokeKeys, INVOKE_NONCE, invokeTranscript } from "../../src/crypto/handshake.ts";
import { agreeEphemeral } from "../../src/crypto/p256.ts";
import type { AttestationStatement } from "../wire/attestation.ts";
import { ProtocolError } from "./errors.ts";

export interface SealedRequest {
  body: { v: 1; kid: string; epk: string; ct: string };
  /** Opens the response body `{ v: 1, ct }`. */
  open(response: unknown): Promise<unknown>;
}

export async function sealRequest(fn: string, input: unknown, statement: Pick<AttestationStatement, "invokeKey" | "kid">, now = Date.now()): Promise<SealedRequest> {
  const invokeKey = fromBase64Url(statement.invokeKey);
  const { publicKey: epk, sharedX } = await agreeEphemeral(invokeKey);
  const keys = deriveInvokeKeys(sharedX, invokeTranscript(fn, epk, invokeKey));
  const ct = await aesGcmSeal(keys.request, INVOKE_NONCE, utf8(JSON.stringify({ ts: now, input })));
  return {
    body: { v: 1, kid: statement.kid, epk: toBase64Url(epk), ct: toBase64Url(ct) },
    async open(response) {
      const sealed = response as { v?: unknown; ct?: unknown };
      if (sealed?.v !== 1 || typeof sealed.ct !== "string") throw new ProtocolError("the sealed response is not { v: 1, ct }");
      try {
        return JSON.parse(fromUtf8(await aesGcmOpen(keys.response, INVOKE_NONCE, fromBase64Url(sealed.ct))));
      } catch {
        throw new ProtocolError("the sealed response does not open");
      }
    },
  };
}
