// The verifier's freshness nonce on /attestation and /report: at most one, hex, 1 to 32 bytes.
import type { Context } from "hono";
import { NonceSchema } from "../../sdk/wire/attestation.ts";
import { apiError } from "./errors.ts";

/** The nonce (undefined when none was given), or the 400 response to send. */
export function readNonce(c: Context): string | undefined | Response {
  const nonces = c.req.queries("nonce") ?? [];
  if (nonces.length > 1) return apiError(c, 400, "bad_request", "nonce: give at most one nonce");
  const nonce = nonces[0];
  if (nonce === undefined) return undefined;
  const parsed = NonceSchema.safeParse(nonce);
  return parsed.success ? nonce : apiError(c, 400, "bad_request", `nonce: ${parsed.error.issues[0]!.message}`);
}

/** When the TEE cannot quote (guest agent down): a retryable 503, never a stack trace. */
export function quoteUnavailable(c: Context) {
  return apiError(c, 503, "attestation_unavailable", "the TEE could not produce a quote; try again shortly");
}
