// GET /attestation: the statement bound to a fresh quote, with vm_config and key provenance.
// `?format=dstack` answers the input dstack-verifier's POST /verify takes ({ quote, event_log,
// vm_config }), so dstack's own verifier can check the same quote; without a quote (dev
// provider) there is nothing it could check, and the answer says "not attested" plainly.
import { Hono } from "hono";
import type { DstackVerifierInput } from "../../../sdk/wire/attestation.ts";
import type { Attestor } from "../../tee/index.ts";
import type { Logger } from "../../log.ts";
import { apiError } from "../errors.ts";
import { quoteUnavailable, readNonce } from "../nonce.ts";

const FORMATS = ["auditor", "dstack"] as const;

export function attestationRoutes(attestor: Attestor, log: Logger) {
  return new Hono().get("/attestation", async (c) => {
    const nonce = readNonce(c);
    if (nonce instanceof Response) return nonce;
    const format = c.req.queries("format") ?? [];
    if (format.length > 1 || (format[0] !== undefined && !FORMATS.includes(format[0] as never))) {
      return apiError(c, 400, "bad_request", `format: one of ${FORMATS.join(", ")}`);
    }
    let body;
    try {
      body = await attestor.attest(nonce);
    } catch (err) {
      log.error("attestation failed", { err });
      return quoteUnavailable(c);
    }
    c.header("cache-control", "no-store");
    if (format[0] !== "dstack") return c.json(body);
    if (!body.quote || body.eventLog === undefined || body.vmConfig === null) {
      const why = `not attested: the ${body.statement.tee.provider} provider has no TDX quote and no vm_config`;
      return apiError(c, 409, "not_attested", why);
    }
    const input: DstackVerifierInput = { quote: body.quote, event_log: body.eventLog, vm_config: body.vmConfig };
    return c.json(input);
  });
}
