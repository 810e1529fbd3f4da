// Reads a JSON request body as a stream, with its limits enforced while reading: a declared
// Content-Length over the cap is 413 before a byte is read, a body (chunked or not) that passes
// the cap is 413 the moment it does, and one that has not fully arrived within the deadline is
// 408. Nothing is buffered beyond the cap, so a huge upload costs at most the cap in memory. A
// refused body is left unread, so those answers close the connection. Text that is not JSON is
// 400. Returns the value, or the error response to send.
import type { Context, MiddlewareHandler } from "hono";
import { concatBytes } from "../../sdk/crypto/encoding.ts";
import { apiError } from "./errors.ts";

/**
 * BODY_DEADLINE_MS = 10 s for the whole body: the largest legitimate body (512 KiB) needs only
 * ~50 KB/s, and without a total deadline a client sending a byte every few seconds holds its
 * connection (and a slot of its address's in-flight cap) past every idle timer.
 */
export const BODY_DEADLINE_MS = 10_000;

/**
 * A request whose body the route never read (a GET with a body, a refusal before reading) is
 * answered with Connection: close, so the unread rest cannot keep the connection busy.
 */
export const closeUnreadBody: MiddlewareHandler = async (c, next) => {
  await next();
  const raw = c.req.raw;
  if (raw.body !== null && !raw.bodyUsed) c.header("connection", "close");
};

export async function readJsonBody(
  c: Context,
  maxBytes: number,
  deadlineMs = BODY_DEADLINE_MS,
): Promise<{ value: unknown; bytes: Uint8Array } | Response> {
  const read = await readBodyBytes(c, maxBytes, deadlineMs);
  if (read instanceof Response) return read;
  try {
    return { value: JSON.parse(new TextDecoder().decode(read.bytes)), bytes: read.bytes };
  } catch {
    return apiError(c, 400, "invalid_json", "body: not valid JSON");
  }
}

/** The body's bytes under the same cap and deadline (for a body passed on unparsed). */
export async function readBodyBytes(
  c: Context,
  maxBytes: number,
  deadlineMs = BODY_DEADLINE_MS,
): Promise<{ bytes: Uint8Array } | Response> {
  const refuse = (status: 400 | 408 | 413, code: string, message: string) => {
    c.header("connection", "close");
    return apiError(c, status, code, message);
  };
  const tooLarge = () => refuse(413, "payload_too_large", `body: at most ${maxBytes} bytes`);
  if (Number(c.req.header("content-length") ?? "0") > maxBytes) return tooLarge();
  const read = await readCapped(c.req.raw.body, maxBytes, deadlineMs);
  if (read === "too_large") return tooLarge();
  if (read === "timeout")
    return refuse(
      408,
      "request_timeout",
      `body: not received in full within ${deadlineMs / 1000} s`,
    );
  if (read === "interrupted")
    return refuse(400, "invalid_json", "body: the upload was interrupted");
  return { bytes: read };
}

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  deadlineMs: number,
): Promise<Uint8Array | "too_large" | "timeout" | "interrupted"> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">(
    (resolve) => (timer = setTimeout(() => resolve("timeout"), deadlineMs)),
  );
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline]).catch(
        () => "interrupted" as const,
      );
      if (next === "interrupted") return next;
      if (next === "timeout" || next.done) {
        if (next === "timeout") void reader.cancel().catch(() => {});
        return next === "timeout" ? next : concatBytes(...chunks);
      }
      total += next.value.length;
      if (total > maxBytes) {
        void reader.cancel().catch(() => {});
        return "too_large";
      }
      chunks.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
}
