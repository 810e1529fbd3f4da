// The verifier's freshness nonce on /attestation and /report (a query parameter: at most one,
// hex, 1 to 32 bytes), and the answer when the TEE cannot quote.
import type { Context } from "hono";
import { z } from "zod";
import { NonceSchema } from "../../sdk/wire/attestation.ts";
import { apiError } from "./errors.ts";

export const NonceParam = z
  .optional(NonceSchema)
  .describe("A verifier's nonce, 1 to 32 bytes as hex: it goes into what the fresh quote binds");

/** When the TEE cannot quote (guest agent down): a retryable 503, never a stack trace. */
export function quoteUnavailable(c: Context) {
  return apiError(
    c,
    503,
    "attestation_unavailable",
    "the TEE could not produce a quote; try again shortly",
  );
}
