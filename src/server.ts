// Bun.serve around the hono app, with a graceful stop: no new connections, in-flight requests
// finish within the grace period, then shutdown hooks (state flush) run.
import type { Hono } from "hono";
import { websocket } from "hono/bun";
import type { Logger } from "./log.ts";

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  /** Stops accepting, waits up to `graceMs` for in-flight requests, then runs the hooks. */
  shutdown(reason: string): Promise<void>;
}

export interface ServerOptions {
  host: string;
  port: number;
  graceMs: number;
  /** Bun refuses larger bodies outright (413), chunked or not; routes enforce their own, smaller caps. */
  maxRequestBodySize: number;
  log: Logger;
  /** Run in order after the last request finished (close stores, flush logs). */
  onShutdown?: Array<() => Promise<void> | void>;
}

export function startServer(app: Hono, options: ServerOptions): RunningServer {
  const { log } = options;
  // hono's Bun WebSocket handler serves the routes that upgrade (extracted runtimes attaching).
  const server = Bun.serve({ hostname: options.host, port: options.port, fetch: app.fetch, websocket, idleTimeout: 120, maxRequestBodySize: options.maxRequestBodySize });
  const port = server.port ?? options.port;
  let stopping: Promise<void> | undefined;

  const shutdown = async (reason: string) => {
    log.info("shutting down", { reason, inFlight: server.pendingRequests });
    const drained = server.stop(false).then(() => "drained" as const);
    const expired = Bun.sleep(options.graceMs).then(() => "expired" as const);
    if ((await Promise.race([drained, expired])) === "expired") {
      log.warn("shutdown grace period expired; closing remaining connections", {
        graceMs: options.graceMs,
        inFlight: server.pendingRequests,
      });
      await server.stop(true);
    }
    for (const hook of options.onShutdown ?? []) {
      try {
        await hook();
      } catch (err) {
        log.error("shutdown hook failed", { err });
      }
    }
    log.info("stopped");
  };

  return {
    port,
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
    shutdown: (reason) => (stopping ??= shutdown(reason)),
  };
}
