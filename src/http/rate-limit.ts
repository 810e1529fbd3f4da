// Per-client-address token bucket for public endpoints: a client may burst up to the per-minute
// allowance, which refills continuously. Refusals are 429 with Retry-After in seconds.
import type { MiddlewareHandler } from "hono";
import { apiError } from "./errors.ts";

interface Bucket {
  tokens: number;
  updated: number;
}

const MAX_TRACKED_CLIENTS = 100_000;

export function rateLimit(
  perMinute: number,
  clientAddress: (req: Request, env: unknown) => string,
  now: () => number = Date.now,
): MiddlewareHandler {
  const buckets = new Map<string, Bucket>();
  const refillPerMs = perMinute / 60_000;
  return async (c, next) => {
    const client = clientAddress(c.req.raw, c.env);
    const t = now();
    const bucket = buckets.get(client) ?? { tokens: perMinute, updated: t };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.updated) * refillPerMs);
    bucket.updated = t;
    // Bounded memory: forget the oldest clients first (Map keeps insertion order).
    buckets.delete(client);
    buckets.set(client, bucket);
    if (buckets.size > MAX_TRACKED_CLIENTS) buckets.delete(buckets.keys().next().value!);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000));
      c.header("retry-after", String(retryAfter));
      return apiError(
        c,
        429,
        "rate_limited",
        `too many requests from this address; retry after ${retryAfter} s`,
      );
    }
    bucket.tokens -= 1;
    await next();
  };
}

/** The TCP peer as Bun.serve sees it (hono passes the Bun server as `env`). */
export function peerAddress(req: Request, env: unknown): string {
  const server = env as { requestIP?: (r: Request) => { address: string } | null } | undefined;
  return server?.requestIP?.(req)?.address ?? "unknown";
}
