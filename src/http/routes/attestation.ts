// GET /attestation: the statement bound to a fresh quote, with vm_config and key provenance.
// `?format=dstack` answers the input dstack-verifier's POST /verify takes ({ quote, event_log,
// vm_config }), so dstack's own verifier can check the same quote; without a quote (dev
// provider) there is nothing it could check, and the answer says "not attested" plainly.
import { Hono } from "hono";
import { z } from "zod";
import {
  AttestationResponseSchema,
  DstackVerifierInputSchema,
  type DstackVerifierInput,
} from "../../../sdk/wire/attestation.ts";
import type { Attestor } from "../../tee/index.ts";
import type { Logger } from "../../log.ts";
import { apiError } from "../errors.ts";
import { NonceParam, quoteUnavailable } from "../nonce.ts";
import { named, type Operation } from "../operations.ts";
import { readQuery } from "../query.ts";

const FORMATS = ["auditor", "dstack"] as const;

export const AttestationQuerySchema = z.object({
  nonce: NonceParam,
  format: z
    .enum(FORMATS, { error: `one of ${FORMATS.join(", ")}` })
    .optional()
    .describe("dstack: the input of dstack's own verifier instead"),
});

export const attestationOperations: Operation[] = [
  {
    method: "get",
    path: "/attestation",
    operationId: "getAttestation",
    tag: "attestation",
    summary: "The statement bound to a fresh TDX quote, with vm_config and key provenance",
    description:
      'The quote\'s report data is SHA-512("auditor-attestation-v1:" ‖ JCS(statement)) (DESIGN "Attestation"). With format=dstack: { quote, event_log, vm_config }, dstack-verifier\'s POST /verify body.',
    query: AttestationQuerySchema,
    responses: {
      200: {
        description:
          "The attestation (format=auditor, the default) or dstack-verifier's input (format=dstack)",
        content: {
          "application/json": [
            named("AttestationResponse", AttestationResponseSchema),
            named("DstackVerifierInput", DstackVerifierInputSchema),
          ],
        },
      },
      400: {
        description: "A query parameter is invalid or repeated (named in message)",
        errors: ["bad_request"],
      },
      409: {
        description: "format=dstack without a quote: not attested (the dev provider)",
        errors: ["not_attested"],
      },
      503: {
        description: "The TEE could not quote; retry shortly",
        errors: ["attestation_unavailable"],
      },
    },
  },
];

export function attestationRoutes(attestor: Attestor, log: Logger) {
  return new Hono().get("/attestation", async (c) => {
    const query = readQuery(c, AttestationQuerySchema, "bad_request");
    if (query instanceof Response) return query;
    let body;
    try {
      body = await attestor.attest(query.nonce);
    } catch (err) {
      log.error("attestation failed", { err });
      return quoteUnavailable(c);
    }
    c.header("cache-control", "no-store");
    if (query.format !== "dstack") return c.json(body);
    if (!body.quote || body.eventLog === undefined || body.vmConfig === null) {
      const why = `not attested: the ${body.statement.tee.provider} provider has no TDX quote and no vm_config`;
      return apiError(c, 409, "not_attested", why);
    }
    const input: DstackVerifierInput = {
      quote: body.quote,
      event_log: body.eventLog,
      vm_config: body.vmConfig,
    };
    return c.json(input);
  });
}
