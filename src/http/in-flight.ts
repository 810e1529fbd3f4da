// Caps the requests one client address has in progress at once: a request counts from its
// arrival until its response has been sent in full (a streamed response, such as a session's
// NDJSON, until the stream ends or the client goes away). Past the cap the answer is 429 with
// Retry-After, before the body is read. Together with the body deadline this bounds what slow
// clients can hold; the token bucket (rate-limit.ts) bounds how fast they may ask.
import type { MiddlewareHandler } from "hono";
import { apiError } from "./errors.ts";
import { whenSent } from "./when-sent.ts";

export function inFlightLimit(
  maxPerAddress: number,
  clientAddress: (req: Request, env: unknown) => string,
): MiddlewareHandler {
  const inFlight = new Map<string, number>();
  return async (c, next) => {
    const client = clientAddress(c.req.raw, c.env);
    const count = inFlight.get(client) ?? 0;
    if (count >= maxPerAddress) {
      c.header("retry-after", "1");
      c.header("connection", "close");
      return apiError(
        c,
        429,
        "too_many_in_flight",
        `this address already has ${maxPerAddress} requests in progress; retry after 1 s`,
      );
    }
    inFlight.set(client, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (inFlight.get(client) ?? 1) - 1;
      if (left === 0) inFlight.delete(client);
      else inFlight.set(client, left);
    };
    try {
      await next();
    } catch (err) {
      release();
      throw err;
    }
    whenSent(c, release);
  };
}
