import { Hono } from "hono";
import type { FunctionHost } from "../../functions/host.ts";
import { SEALED_CONTENT_TYPE, type SealedInvoker } from "../../functions/sealed-invoke.ts";
import { mediaType, refuseUnlessMediaType } from "../content-type.ts";
import { apiError } from "../errors.ts";
import { readJsonBody } from "../json-body.ts";

/** Requests larger than this are refused before parsing. */
export const MAX_INVOKE_BODY_BYTES = 256 * 1024;

export function functionRoutes(host: FunctionHost, sealed: SealedInvoker) {
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
      const invoke = async (input: unknown) => {
        const result = await host.invoke(fn, input);
        const retryAfter = result.retryAfterSeconds;
        if (retryAfter !== undefined) c.header("retry-after", String(retryAfter));
        return result;
      };
      if (!isSealed) {
        const result = await invoke(body.value);
        return c.json(result.body as object, result.status as 200);
      }
      const opened = await sealed.open(fn, body.value);
      if (!("seal" in opened)) return apiError(c, opened.status, opened.error, opened.message);
      const result = await invoke(opened.input);
      // The function's own status, and exactly the JSON an unsealed call would get, sealed.
      return c.json(await opened.seal(result.body), result.status as 200);
    });
}
