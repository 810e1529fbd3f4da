import { Hono } from "hono";
import type { FunctionHost } from "../../functions/host.ts";
import { apiError } from "../errors.ts";
import { readJsonBody } from "../json-body.ts";

/** Requests larger than this are refused before parsing. */
export const MAX_INVOKE_BODY_BYTES = 256 * 1024;

export function functionRoutes(host: FunctionHost) {
  return new Hono()
    .get("/functions", (c) =>
      c.json({
        functions: host.list().map((f) => ({
          name: f.definition.name,
          app: f.definition.app,
          description: f.definition.description,
          input: f.inputSchema,
          output: f.outputSchema,
          egress: f.egress.map((e) => ({ name: e.name, host: e.host, overriddenBy: e.overriddenBy })),
          secrets: f.definition.secrets,
          sessionTool: f.definition.sessionTool === true,
          sourceSha256: f.sourceSha256,
        })),
      }),
    )
    .post("/invoke/:fn", async (c) => {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/json\b/i.test(type)) {
        return apiError(c, 415, "unsupported_media_type", "content-type: send application/json");
      }
      const body = await readJsonBody(c, MAX_INVOKE_BODY_BYTES);
      if (body instanceof Response) return body;
      const result = await host.invoke(c.req.param("fn"), body.value);
      c.header("cache-control", "no-store");
      return c.json(result.body as object, result.status as 200);
    });
}
