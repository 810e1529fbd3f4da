// GET /functions (every function's manifest) and POST /invoke/:fn, plain or sealed, each answer
// with its signed receipt (DESIGN "Functions and egress", "Encryption", "Receipts").
import { Hono, type Context } from "hono";
import { z } from "zod";
import { canonicalJson } from "../../../sdk/crypto/canonical-json.ts";
import { utf8 } from "../../../sdk/crypto/encoding.ts";
import type { EgressEntry, EgressLog } from "../../egress/index.ts";
import {
  FUNCTION_FAILURE_STATUSES,
  FunctionErrorSchema,
  SEALED_CONTENT_TYPE,
  SealedRequestSchema,
  SealedResponseSchema,
  type FailureKind,
  type FunctionHost,
  type HostedFunction,
  type InvokeMode,
  type InvokeOutcome,
  type ReceiptSigner,
  type SealedInvoker,
} from "../../functions/index.ts";
import { encodeReceiptHeader, RECEIPT_HEADER } from "../../../sdk/wire/receipt.ts";
import { mediaType, refuseUnlessMediaType } from "../content-type.ts";
import { apiError, noteErrorCode } from "../errors.ts";
import { readJsonBody } from "../json-body.ts";
import {
  eitherOf,
  named,
  type Operation,
  type ResponseSpec,
  type SchemaRef,
} from "../operations.ts";

/** Requests larger than this are refused before parsing. */
export const MAX_INVOKE_BODY_BYTES = 256 * 1024;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const FunctionListingSchema = z
  .object({
    functions: z.array(
      z
        .object({
          name: z.string(),
          app: z.string(),
          description: z.string(),
          input: z.unknown().describe("JSON Schema of the input, as clients send it"),
          output: z.unknown().describe("JSON Schema of the output"),
          egress: z.array(
            z
              .object({
                name: z.string(),
                host: z.string(),
                origin: z.string(),
                overriddenBy: z.string().nullable(),
              })
              .strict(),
          ),
          secrets: z
            .array(z.string())
            .describe("The names of the secrets it may read (never values)"),
          sessionTool: z.boolean().describe("Also callable from sessions as callTool(name, input)"),
          sourceSha256: Hex64,
        })
        .strict(),
    ),
  })
  .strict();
type FunctionListing = z.infer<typeof FunctionListingSchema>;

const SEALED_REQUEST = named("SealedInvokeRequest", SealedRequestSchema);
const SEALED_RESPONSE = named("SealedInvokeResponse", SealedResponseSchema);
const FUNCTION_ERROR = named("FunctionError", FunctionErrorSchema);
const RECEIPTED = ["auditor-receipt"] as const;

/** Every answer of POST /invoke/<fn>; the generic path (`unknownFunction`) also answers 404. */
function invokeResponses(
  output: SchemaRef,
  unknownFunction: boolean,
): Record<number, ResponseSpec> {
  const failed: Record<number, ResponseSpec> = {};
  for (const status of FUNCTION_FAILURE_STATUSES) {
    failed[status] = {
      description: "The function's own failure (sealed calls: sealed)",
      content: { "application/json": [FUNCTION_ERROR, SEALED_RESPONSE] },
      headers: RECEIPTED,
    };
  }
  const notFound: ResponseSpec = {
    description: "No such function (sealed calls: sealed)",
    content: { "application/json": SEALED_RESPONSE },
    errors: ["not_found"],
    headers: RECEIPTED,
  };
  const also = (status: number, description: string, errors: string[]): ResponseSpec => ({
    ...failed[status]!,
    description: eitherOf(failed[status]!.description, description),
    errors,
  });
  const responses: Record<number, ResponseSpec> = {
    ...failed,
    200: {
      description:
        "The function's output (sealed calls: { v, ct, rct }, its JSON and receipt sealed)",
      content: { "application/json": [output, SEALED_RESPONSE] },
      headers: RECEIPTED,
    },
    400: also(
      400,
      "the body or the input is invalid (invalid_input names each field in issues), or a sealed request did not open",
      [
        "invalid_json",
        "invalid_input",
        "invalid_request",
        "unknown_kid",
        "decrypt_failed",
        "stale_request",
      ],
    ),
    408: {
      description: "The body did not arrive in full within 10 s",
      errors: ["request_timeout"],
    },
    409: also(409, "a sealed request's epk was already used", ["replayed"]),
    413: {
      description: `The body is over ${MAX_INVOKE_BODY_BYTES} bytes`,
      errors: ["payload_too_large"],
    },
    415: {
      description: `The body is not application/json or ${SEALED_CONTENT_TYPE}`,
      errors: ["unsupported_media_type"],
    },
    500: also(
      500,
      "the function failed, produced output its schema refuses, or cannot open its state",
      ["function_failed", "invalid_output", "state_unavailable"],
    ),
    503: also(503, "too many sealed requests in the last two minutes", ["busy"]),
    507: {
      description:
        "The server's storage for sealed state is full; nothing was lost (sealed calls: sealed)",
      content: { "application/json": SEALED_RESPONSE },
      errors: ["state_full"],
      headers: RECEIPTED,
    },
  };
  if (unknownFunction) responses[404] = notFound;
  return responses;
}

/** The operations of GET /functions and POST /invoke: the generic path and one per function. */
export function functionOperations(functions: readonly HostedFunction[]): Operation[] {
  const invokeDescription = `application/json: the function's input. ${SEALED_CONTENT_TYPE}: { v: 1, kid, epk, ct }, the input sealed to the invoke key (DESIGN "Encryption"). Every answer after the input was read carries a receipt: the auditor-receipt header, or rct inside a sealed answer.`;
  return [
    {
      method: "get",
      path: "/functions",
      operationId: "listFunctions",
      tag: "functions",
      summary:
        "Every function's manifest: input and output JSON Schema, egress, secret names, source digest",
      responses: {
        200: {
          description: "The manifests",
          content: { "application/json": named("FunctionListing", FunctionListingSchema) },
        },
      },
    },
    {
      method: "post",
      path: "/invoke/:fn",
      operationId: "invoke",
      tag: "functions",
      summary: "Runs an attested function (each has its own path below, with its schemas)",
      description: invokeDescription,
      params: z.object({
        fn: z
          .string()
          .describe(`The function: ${functions.map((f) => f.definition.name).join(", ")}`),
      }),
      body: {
        description: "The function's input, plain or sealed",
        content: { "application/json": z.unknown(), [SEALED_CONTENT_TYPE]: SEALED_REQUEST },
      },
      responses: invokeResponses(z.unknown(), true),
    },
    ...functions.map(
      ({ definition: { name, description, input, output } }): Operation => ({
        method: "post",
        path: `/invoke/${name}`,
        operationId: `invoke-${name}`,
        tag: "functions",
        summary: `Runs ${name}`,
        description: `${description}\n\n${invokeDescription}`,
        body: {
          description: `${name}'s input, plain or sealed`,
          content: {
            "application/json": named(`${name}.input`, input),
            [SEALED_CONTENT_TYPE]: SEALED_REQUEST,
          },
        },
        responses: invokeResponses(named(`${name}.output`, output), false),
      }),
    ),
  ];
}

export function functionRoutes(
  host: FunctionHost,
  sealed: SealedInvoker,
  receipts: ReceiptSigner,
  egressLog: EgressLog,
) {
  return new Hono()
    .get("/functions", (c) => {
      const listing: FunctionListing = {
        functions: host.list().map((f) => ({
          name: f.definition.name,
          app: f.definition.app,
          description: f.definition.description,
          input: f.inputSchema,
          output: f.outputSchema,
          egress: f.egress.map((e) => ({
            name: e.name,
            host: e.host,
            origin: e.origin,
            overriddenBy: e.overriddenBy,
          })),
          secrets: f.definition.secrets,
          sessionTool: f.definition.sessionTool === true,
          sourceSha256: f.sourceSha256,
        })),
      };
      return c.json(listing);
    })
    .post("/invoke/:fn", async (c) => {
      const refused = refuseUnlessMediaType(
        c,
        ["application/json", SEALED_CONTENT_TYPE],
        `content-type: send application/json, or ${SEALED_CONTENT_TYPE} for a sealed call`,
      );
      if (refused) return refused;
      const isSealed = mediaType(c) === SEALED_CONTENT_TYPE;
      const body = await readJsonBody(c, MAX_INVOKE_BODY_BYTES);
      if (body instanceof Response) return body;
      const fn = c.req.param("fn");
      c.header("cache-control", "no-store");
      if (!isSealed) {
        const { status, response, signed } = await invokeWithReceipt(
          c,
          fn,
          body.value,
          body.bytes,
          "plain",
        );
        c.header(RECEIPT_HEADER, encodeReceiptHeader(signed));
        return c.body(response as Uint8Array<ArrayBuffer>, status as 200, {
          "content-type": "application/json",
        });
      }
      const opened = await sealed.open(fn, body.value);
      if (!("seal" in opened)) return apiError(c, opened.status, opened.error, opened.message);
      const { status, response, signed } = await invokeWithReceipt(
        c,
        fn,
        opened.input,
        opened.plaintext,
        "sealed",
      );
      // The function's own status, exactly the JSON an unsealed call would get, and its receipt,
      // both sealed, so intermediaries learn nothing.
      return c.json(await opened.seal(response, utf8(canonicalJson(signed))), status as 200);
    });

  /** Runs the function, collecting the egress it causes, and signs the answer's receipt. */
  async function invokeWithReceipt(
    c: Context,
    fn: string,
    input: unknown,
    request: Uint8Array,
    mode: InvokeMode,
  ) {
    const caused: EgressEntry[] = [];
    const { status, body, retryAfterSeconds } = invokeAnswer(
      await host.invoke(fn, input, { caused, mode }),
    );
    if (retryAfterSeconds !== undefined) c.header("retry-after", String(retryAfterSeconds));
    const { error } = (body ?? {}) as { error?: unknown };
    if (status >= 400)
      noteErrorCode(
        c,
        typeof error === "string" && /^[a-z_]{1,40}$/.test(error) ? error : "function_error",
      );
    const response = utf8(JSON.stringify(body));
    const signed = receipts.sign({
      app: host.appOf(fn) ?? "-",
      fn,
      status,
      request,
      response,
      caused,
      logHead: egressLog.logHead,
    });
    return { status, response, signed };
  }
}

/** Each kind of failure's status; a declining function chose its own. */
const FAILURE_STATUS: Record<Exclude<FailureKind, "declined">, number> = {
  unknown_function: 404,
  invalid_input: 400,
  invalid_output: 500,
  state_full: 507,
  state_unreachable: 503,
  state_unreadable: 500,
  crashed: 500,
};

/** An invocation's outcome as an HTTP answer: status, JSON body and Retry-After. */
export function invokeAnswer(outcome: InvokeOutcome): {
  status: number;
  body: unknown;
  retryAfterSeconds?: number;
} {
  if (outcome.ok) return { status: 200, body: outcome.output };
  const status =
    outcome.kind === "declined" ? outcome.declinedStatus! : FAILURE_STATUS[outcome.kind];
  return {
    status,
    body: outcome.error,
    ...(outcome.retryAfterSeconds === undefined
      ? {}
      : { retryAfterSeconds: outcome.retryAfterSeconds }),
  };
}
