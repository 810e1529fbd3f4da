// Logs one line per request: method, path, status, duration. Never bodies or query values,
// which may carry user data.
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../log.ts";

export function requestLog(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    const requestId = crypto.randomUUID();
    c.header("x-request-id", requestId);
    await next();
    log.info("request", {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
  };
}
