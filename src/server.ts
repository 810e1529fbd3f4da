// Bun.serve around the hono app, with a graceful stop. On a signal: new requests get 503
// `shutting_down` (the listener stays open so they get that answer), `onDrain` ends what would
// hold the drain open (sessions get their final), in-flight requests finish within the grace
// period; at its end the requests still waiting are answered 503, `atGraceEnd` stops what is
// still busy (runtime workers), and what is left is closed; then the shutdown hooks run.
import type { Hono } from "hono";
import { websocket } from "hono/bun";
import type { Drain } from "./http/drain.ts";
import type { Logger } from "./log.ts";

/**
 * FLUSH_MS = 500: how long the last responses (the 503s, the finals of stopped sessions) have
 * to reach their clients once their handlers are done, before the connections are closed.
 */
const FLUSH_MS = 500;

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  /** Drains (see the file comment) and runs the hooks; resolves when all is done. */
  shutdown(reason: string): Promise<void>;
}

export interface ServerOptions {
  host: string;
  port: number;
  graceMs: number;
  /** Bun refuses larger bodies outright (413), chunked or not; routes enforce their own, smaller caps. */
  maxRequestBodySize: number;
  log: Logger;
  drain: Drain;
  /** Run as the drain begins: end what would otherwise hold it open (session streams). */
  onDrain?: () => void;
  /** Run when the grace period ends with requests still in flight (terminate busy workers). */
  atGraceEnd?: () => void;
  /** Run in order after the last request finished (close stores, flush logs). */
  onShutdown?: Array<() => Promise<void> | void>;
}

export function startServer(app: Hono, options: ServerOptions): RunningServer {
  const { log, drain } = options;
  // hono's Bun WebSocket handler serves the routes that upgrade (extracted runtimes attaching).
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    fetch: app.fetch,
    websocket,
    idleTimeout: 120,
    maxRequestBodySize: options.maxRequestBodySize,
  });
  const port = server.port ?? options.port;
  let stopping: Promise<void> | undefined;

  /** True once nothing admitted is in flight, false if `ms` pass first. */
  const within = (ms: number) =>
    Promise.race([drain.idle().then(() => true), Bun.sleep(ms).then(() => false)]);

  const shutdown = async (reason: string) => {
    log.info("shutting down", { reason, inFlight: drain.pending });
    drain.begin();
    options.onDrain?.();
    if (!(await within(options.graceMs))) {
      log.warn("shutdown grace period expired; answering what is left with 503", {
        graceMs: options.graceMs,
        inFlight: drain.pending,
      });
      drain.end();
      options.atGraceEnd?.();
    }
    // Bun's own stop(false) resolves once every response has been written out.
    await Promise.race([server.stop(false), Bun.sleep(FLUSH_MS)]);
    await server.stop(true);
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
