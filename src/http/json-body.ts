// Reads a JSON request body with a size cap: 413 before parsing anything too large, 400 for
// text that is not JSON. Returns the value, or the error response to send.
import type { Context } from "hono";
import { apiError } from "./errors.ts";

export async function readJsonBody(c: Context, maxBytes: number): Promise<{ value: unknown } | Response> {
  const tooLarge = () => apiError(c, 413, "payload_too_large", `body: at most ${maxBytes} bytes`);
  if (Number(c.req.header("content-length") ?? "0") > maxBytes) return tooLarge();
  const raw = await c.req.arrayBuffer();
  if (raw.byteLength > maxBytes) return tooLarge();
  try {
    return { value: JSON.parse(new TextDecoder().decode(raw)) };
  } catch {
    return apiError(c, 400, "invalid_json", "body: not valid JSON");
  }
}
