// Gives every request an id and logs one line per request: method, path, status, duration.
// Never bodies or query values, which may carry user data. The id is the caller's X-Request-Id
// when it is a valid one, else a fresh UUID; it is returned as X-Request-Id and, through the
// request context, carried into every log line the request causes (functions, egress, sessions).
//
// An invalid id is replaced, not refused with 400: the id only correlates log lines, it changes
// nothing about the answer, and a proxy that writes ids in another format must not turn every
// call behind it into a failure. The replacement is visible (the answer's id differs from the
// one sent; the log line says `requestIdRefused`), and an invalid value is never echoed or
// logged, so it cannot inject a header or a log line.
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Logger } from "../log.ts";
import { runInRequest } from "../request-context.ts";

export const REQUEST_ID_HEADER = "x-request-id";

/**
 * 1 to 128 characters of [A-Za-z0-9._:-]: room for a UUID, a ULID or a trace id, and nothing
 * that could end a header, split a log line or need quoting. Several X-Request-Id headers reach
 * us joined by ", ", which this refuses.
 */
export const RequestIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, "1 to 128 characters of A-Z a-z 0-9 . _ : -");

export function requestLog(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const honoured = incoming !== undefined && RequestIdSchema.safeParse(incoming).success;
    const requestId = honoured ? incoming : crypto.randomUUID();
    c.header(REQUEST_ID_HEADER, requestId);
    await runInRequest({ requestId }, next);
    log.info("request", {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      ...(incoming !== undefined && !honoured ? { requestIdRefused: true } : {}),
    });
  };
}
