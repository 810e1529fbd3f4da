// Counts every answer for the metrics: by the route pattern that matched (never the raw path, so
// labels stay bounded), the method (unknown ones as "other"), the status and the error code.
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Metrics } from "../metrics/index.ts";
import { errorCodeOf } from "./errors.ts";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export function httpMetrics(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    // Middleware is registered for method ALL; the last other match is the route's handler.
    const route =
      matchedRoutes(c)
        .filter((r) => r.method !== "ALL")
        .at(-1)?.path ?? "unmatched";
    const method = METHODS.has(c.req.method) ? c.req.method : "other";
    metrics.answered(
      route,
      method,
      c.res.status,
      (performance.now() - started) / 1000,
      errorCodeOf(c),
    );
  };
}
