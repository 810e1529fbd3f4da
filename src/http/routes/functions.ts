import { Hono } from "hono";
import { z } from "zod";
import type { FunctionHost } from "../../functions/host.ts";
import { apiError } from "../errors.ts";

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
          input: z.toJSONSchema(f.definition.input, { io: "input" }),
          output: z.toJSONSchema(f.definition.output),
          egress: f.egress.map((e) => ({ name: e.name, host: e.host, overriddenBy: e.overriddenBy })),
          secrets: f.definition.secrets,
          sourceSha256: f.sourceSha256,
        })),
      }),
    )
    .post("/invoke/:fn", async (c) => {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/json\b/i.test(type)) {
        return apiError(c, 415, "unsupported_media_type", "content-type: send application/json");
      }
      const declared = Number(c.req.header("content-length") ?? "0");
      if (declared > MAX_INVOKE_BODY_BYTES) return apiError(c, 413, "payload_too_large", `body: at most ${MAX_INVOKE_BODY_BYTES} bytes`);
      const raw = await c.req.arrayBuffer();
      if (raw.byteLength > MAX_INVOKE_BODY_BYTES) return apiError(c, 413, "payload_too_large", `body: at most ${MAX_INVOKE_BODY_BYTES} bytes`);
      let input: unknown;
      try {
        input = JSON.parse(new TextDecoder().decode(raw));
      } catch {
        return apiError(c, 400, "invalid_json", "body: not valid JSON");
      }
      const result = await host.invoke(c.req.param("fn"), input);
      c.header("cache-control", "no-store");
      return c.json(result.body as object, result.status as 200);
    });
}
