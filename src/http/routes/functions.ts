import { Hono, type Context } from "hono";
import { canonicalJson } from "../../../sdk/crypto/canonical-json.ts";
import { utf8 } from "../../../sdk/crypto/encoding.ts";
import type { EgressEntry, EgressLog } from "../../egress/index.ts";
import type { ReceiptSigner } from "../../functions/receipts.ts";
import { encodeReceiptHeader, RECEIPT_HEADER } from "../../../sdk/wire/receipt.ts";
import type { FunctionHost, InvokeMode } from "../../functions/host.ts";
import { SEALED_CONTENT_TYPE, type SealedInvoker } from "../../functions/sealed-invoke.ts";
import { mediaType, refuseUnlessMediaType } from "../content-type.ts";
import { apiError, noteErrorCode } from "../errors.ts";
import { readJsonBody } from "../json-body.ts";

/** Requests larger than this are refused before parsing. */
export const MAX_INVOKE_BODY_BYTES = 256 * 1024;

export function functionRoutes(host: FunctionHost, sealed: SealedInvoker, receipts: ReceiptSigner, egressLog: EgressLog) {
  return new Hono()
    .get("/functions", (c) =>
      c.json({
        functions: host.list().map((f) => ({
          name: f.definition.name,
          app: f.definition.app,
          description: f.definition.description,
          input: f.inputSchema,
          output: f.outputSchema,
          egress: f.egress.map((e) => ({ name: e.name, host: e.host, origin: e.origin, overriddenBy: e.overriddenBy })),
          secrets: f.definition.secrets,
          sessionTool: f.definition.sessionTool === true,
          sourceSha256: f.sourceSha256,
        })),
      }),
    )
    .post("/invoke/:fn", async (c) => {
      const refused = refuseUnlessMediaType(c, ["application/json", SEALED_CONTENT_TYPE], `content-type: send application/json, or ${SEALED_CONTENT_TYPE} for a sealed call`);
      if (refused) return refused;
      const isSealed = mediaType(c) === SEALED_CONTENT_TYPE;
      const body = await readJsonBody(c, MAX_INVOKE_BODY_BYTES);
      if (body instanceof Response) return body;
      const fn = c.req.param("fn");
      c.header("cache-control", "no-store");
      if (!isSealed) {
        const { status, response, signed } = await invokeWithReceipt(c, fn, body.value, body.bytes, "plain");
        c.header(RECEIPT_HEADER, encodeReceiptHeader(signed));
        return c.body(response as Uint8Array<ArrayBuffer>, status as 200, { "content-type": "application/json" });
      }
      const opened = await sealed.open(fn, body.value);
      if (!("seal" in opened)) return apiError(c, opened.status, opened.error, opened.message);
      const { status, response, signed } = await invokeWithReceipt(c, fn, opened.input, opened.plaintext, "sealed");
      // The function's own status, exactly the JSON an unsealed call would get, and its receipt,
      // both sealed, so intermediaries learn nothing.
      return c.json(await opened.seal(response, utf8(canonicalJson(signed))), status as 200);
    });

  /** Runs the function, collecting the egress it causes, and signs the answer's receipt. */
  async function invokeWithReceipt(c: Context, fn: string, input: unknown, request: Uint8Array, mode: InvokeMode) {
    const caused: EgressEntry[] = [];
    const result = await host.invoke(fn, input, { caused, mode });
    if (result.retryAfterSeconds !== undefined) c.header("retry-after", String(result.retryAfterSeconds));
    const { error } = (result.body ?? {}) as { error?: unknown };
    if (result.status >= 400) noteErrorCode(c, typeof error === "string" && /^[a-z_]{1,40}$/.test(error) ? error : "function_error");
    const response = utf8(JSON.stringify(result.body));
    const signed = receipts.sign({ app: host.appOf(fn) ?? "-", fn, status: result.status, request, response, caused, logHead: egressLog.logHead });
    return { status: result.status, response, signed };
  }
}
