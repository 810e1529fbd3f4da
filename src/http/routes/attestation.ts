import { Hono } from "hono";
import type { Attestor } from "../../tee/index.ts";
import type { Logger } from "../../log.ts";
import { quoteUnavailable, readNonce } from "../nonce.ts";

export function attestationRoutes(attestor: Attestor, log: Logger) {
  return new Hono().get("/attestation", async (c) => {
    const nonce = readNonce(c);
    if (nonce instanceof Response) return nonce;
    try {
      const body = await attestor.attest(nonce);
      c.header("cache-control", "no-store");
      return c.json(body);
    } catch (err) {
      log.error("attestation failed", { err });
      return quoteUnavailable(c);
    }
  });
}
