import { Hono } from "hono";
import { NonceSchema } from "../../../sdk/wire/attestation.ts";
import type { Attestor } from "../../tee/index.ts";
import type { Logger } from "../../log.ts";
import { apiError } from "../errors.ts";

export function attestationRoutes(attestor: Attestor, log: Logger) {
  return new Hono().get("/attestation", async (c) => {
    const nonces = c.req.queries("nonce") ?? [];
    if (nonces.length > 1) return apiError(c, 400, "bad_request", "nonce: give at most one nonce");
    const nonce = nonces[0];
    if (nonce !== undefined) {
      const parsed = NonceSchema.safeParse(nonce);
      if (!parsed.success) return apiError(c, 400, "bad_request", `nonce: ${parsed.error.issues[0]!.message}`);
    }
    try {
      const body = await attestor.attest(nonce);
      c.header("cache-control", "no-store");
      return c.json(body);
    } catch (err) {
      log.error("attestation failed", { err });
      return apiError(c, 503, "attestation_unavailable", "the TEE could not produce a quote; try again shortly");
    }
  });
}
