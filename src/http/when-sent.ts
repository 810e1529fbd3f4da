// Knowing when a response has been sent in full, for middleware that counts requests in
// progress (in-flight.ts, drain.ts): a streamed body (a session's NDJSON) counts until it ends,
// fails or the client goes away. Bun reads no body for HEAD, so those count as sent at once;
// wrapped, their count would never end.
import type { Context } from "hono";

/** Calls `release` once (when c.res has been sent); replaces c.res with the same bytes. */
export function whenSent(c: Context, release: () => void): void {
  const body = c.res.body;
  if (!body || c.req.method === "HEAD") return release();
  c.res = new Response(releasing(body, release), c.res);
}

/** The same bytes, with `release` called once the stream ends, fails or is cancelled. */
function releasing(
  body: ReadableStream<Uint8Array>,
  release: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          release();
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      } catch (err) {
        release();
        controller.error(err);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
}
