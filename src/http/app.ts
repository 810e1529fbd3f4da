// Composes the HTTP surface from the modules that own each concern.
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { FunctionHost } from "../functions/host.ts";
import type { SealedInvoker } from "../functions/sealed-invoke.ts";
import type { ChannelDescription, EgressLog } from "../egress/index.ts";
import type { Logger } from "../log.ts";
import type { Attestor, Tee } from "../tee/index.ts";
import { apiError } from "./errors.ts";
import { inFlightLimit } from "./in-flight.ts";
import { closeUnreadBody } from "./json-body.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";
import { peerAddress, rateLimit } from "./rate-limit.ts";
import { requestLog } from "./request-log.ts";
import { attestationRoutes } from "./routes/attestation.ts";
import { functionRoutes, MAX_INVOKE_BODY_BYTES } from "./routes/functions.ts";
import { sdkRoutes } from "./routes/sdk.ts";
import { upgradeWebSocket } from "hono/bun";
import type { RemoteRuntimes } from "../runtime/remote/runtimes.ts";
import type { PeerListener } from "../sessions/peer-listener.ts";
import { FORWARDED_ENV } from "./session-forwarding.ts";
import { webRoutes } from "./routes/web.ts";
import { reportRoutes } from "./routes/report.ts";
import { MAX_SESSION_BODY_BYTES, sessionRoutes, type SessionRouteOptions } from "./routes/sessions.ts";

export interface AppDeps {
  log: Logger;
  version: string;
  attestor: Attestor;
  tee: Pick<Tee, "quote">;
  host: FunctionHost;
  sealedInvoker: SealedInvoker;
  egressLog: EgressLog;
  /** The process's channels besides function egress, for the report. */
  channels: () => ChannelDescription[];
  corsOrigins: string[];
  rateLimitPerMinute: number;
  /** Requests one client address may have in progress at once (streams included). */
  maxInFlightPerAddress: number;
  sessions: Omit<SessionRouteOptions, "log">;
  /** Extracted runtimes attach here (GET /runtime/attach, a WebSocket) when configured. */
  runtimes?: RemoteRuntimes;
  /** Other instances of this app forward their clients' requests for sessions held here (GET /peer/attach). */
  peers?: PeerListener;
}

/**
 * Bun.serve's own cap: the largest legitimate body (a session start or control message, 512
 * KiB) plus 64 KiB, so that a body just over a route's cap meets that route's JSON 413 rather
 * than Bun's bare one, which only bodies no route could take ever get.
 */
export const MAX_REQUEST_BODY_BYTES = Math.max(MAX_INVOKE_BODY_BYTES, MAX_SESSION_BODY_BYTES) + 64 * 1024;

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(requestLog(deps.log));
  app.use(inFlightLimit(deps.maxInFlightPerAddress, peerAddress));
  app.use(closeUnreadBody);
  app.use(async (c, next) => {
    await next();
    c.header("x-content-type-options", "nosniff");
  });

  // Browsers call functions directly (no backend in between), from the origins the operator allows.
  const origins = deps.corsOrigins;
  app.use(
    "*",
    cors({
      origin: (origin) => (origins.includes("*") ? "*" : origins.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["content-type", "authorization"],
      exposeHeaders: ["retry-after", "x-request-id"],
      maxAge: 600,
    }),
  );
  const limited = rateLimit(deps.rateLimitPerMinute, peerAddress);
  for (const path of ["/invoke/*", "/attestation", "/report/*", "/functions", "/sessions", "/sessions/*", "/refs/*", "/peer/*"]) app.use(path, limited);

  app.get("/healthz", (c) =>
    c.json({
      ok: true,
      version: deps.version,
      tee: deps.attestor.statement.tee.provider,
      binarySha256: deps.attestor.statement.binarySha256,
    }),
  );
  app.route("/", attestationRoutes(deps.attestor, deps.log));
  app.route("/", functionRoutes(deps.host, deps.sealedInvoker));
  const sessions = sessionRoutes({ ...deps.sessions, log: deps.log });
  app.route("/", sessions);
  if (deps.runtimes) {
    const runtimes = deps.runtimes;
    app.get("/runtime/attach", upgradeWebSocket(() => {
      const connection = runtimes.connection();
      return { onOpen: (_event, ws) => connection.onOpen(ws), onMessage: (event, ws) => void connection.onMessage(event as MessageEvent, ws), onClose: () => connection.onClose() };
    }));
  }
  if (deps.peers) {
    const peers = deps.peers;
    // Forwarded requests meet the session routes alone: the forwarding instance already applied
    // the per-address limits, CORS and the request log for the client that made them.
    const forwarded = new Hono().route("/", sessions);
    forwarded.notFound((c) => apiError(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
    forwarded.onError((err, c) => {
      deps.log.error("unhandled error in a forwarded request", { path: c.req.path, err });
      return apiError(c, 500, "internal_error", "internal error");
    });
    const handle = (request: Request) => Promise.resolve(forwarded.fetch(request, FORWARDED_ENV));
    app.get("/peer/attach", upgradeWebSocket(() => {
      const connection = peers.connection(handle);
      return { onOpen: (_event, ws) => connection.onOpen(ws), onMessage: (event, ws) => void connection.onMessage(event as MessageEvent, ws), onClose: () => connection.onClose() };
    }));
  }
  app.route("/", sdkRoutes());
  app.route("/", webRoutes());
  app.route("/", reportRoutes({ host: deps.host, egressLog: deps.egressLog, attestor: deps.attestor, tee: deps.tee, channels: deps.channels }, deps.log));

  const wrongMethod = methodNotAllowed(app);
  app.notFound((c) => wrongMethod(c) ?? apiError(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    deps.log.error("unhandled error", { path: c.req.path, err });
    return apiError(c, 500, "internal_error", "internal error");
  });
  return app;
}
