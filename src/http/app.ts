// Composes the HTTP surface from the modules that own each concern.
import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { z } from "zod";
import type { FunctionHost, SealedInvoker, ReceiptSigner } from "../functions/index.ts";
import { RECEIPT_HEADER } from "../../sdk/wire/receipt.ts";
import { TeeDescriptionSchema } from "../../sdk/wire/attestation.ts";
import type { ChannelDescription, EgressLog } from "../egress/index.ts";
import type { Logger } from "../log.ts";
import { ReadinessReportSchema, type Readiness } from "../readiness.ts";
import type { Attestor, Tee } from "../tee/index.ts";
import type { Drain } from "./drain.ts";
import { apiError } from "./errors.ts";
import { inFlightLimit } from "./in-flight.ts";
import { closeUnreadBody } from "./json-body.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";
import { peerAddress, rateLimit } from "./rate-limit.ts";
import { openApiDocument } from "./openapi.ts";
import { named, type Operation } from "./operations.ts";
import { requestLog } from "./request-log.ts";
import { attestationOperations, attestationRoutes } from "./routes/attestation.ts";
import { functionOperations, functionRoutes, MAX_INVOKE_BODY_BYTES } from "./routes/functions.ts";
import { openApiOperation, openApiRoutes } from "./routes/openapi.ts";
import { sdkOperations, sdkRoutes } from "./routes/sdk.ts";
import { sourceOperations, sourceRoutes } from "./routes/source.ts";
import { egressLogOperations, egressLogRoutes } from "./routes/egress-log.ts";
import { dashboardOperations, dashboardRoutes } from "./routes/dashboard.ts";
import { httpMetrics } from "./metrics.ts";
import type { DashboardSources } from "../metrics/index.ts";
import { upgradeWebSocket } from "hono/bun";
import type { WSContext } from "hono/ws";
import type { RemoteRuntimes } from "../runtime/index.ts";
import { webOperations, webRoutes } from "./routes/web.ts";
import { reportOperations, reportRoutes } from "./routes/report.ts";
import type { ReportDeps } from "../report/index.ts";
import { sessionRoutes, type SessionRouteOptions } from "./routes/sessions.ts";
import { MAX_SESSION_BODY_BYTES, sessionOperations } from "./session-operations.ts";
import type { PeerListener } from "../sessions/index.ts";
import { FORWARDED_ENV } from "./session-forwarding.ts";

export interface AppDeps {
  log: Logger;
  version: string;
  attestor: Attestor;
  tee: Pick<Tee, "quote">;
  host: FunctionHost;
  sealedInvoker: SealedInvoker;
  /** Signs every /invoke answer's receipt. */
  receipts: ReceiptSigner;
  egressLog: EgressLog;
  /** The process's channels besides function egress, for the report. */
  channels: () => ChannelDescription[];
  /** What the report states beyond the modules above: settings, session tools and maxima. */
  report: Pick<ReportDeps, "settings" | "sessionTools" | "sessionMaxima">;
  corsOrigins: string[];
  rateLimitPerMinute: number;
  /** Requests one client address may have in progress at once (streams included). */
  maxInFlightPerAddress: number;
  sessions: Omit<SessionRouteOptions, "log">;
  /** Extracted runtimes attach here (GET /runtime/attach, a WebSocket) when configured. */
  runtimes?: RemoteRuntimes;
  /** The metrics and what the dashboard shows; its operational parts need an operator key. */
  dashboard: DashboardSources;
  operatorKeys: string[];
  /** What GET /readyz reports (the store, the TEE, a shutdown). */
  readiness: Readiness;
  /** Refuses new requests once a shutdown began, and answers the last ones at its end. */
  drain: Drain;
  /** Other instances of this app forward their clients' requests for sessions held here (GET /peer/attach). */
  peers?: PeerListener;
}

/** Operator endpoints allow a dashboard's polling and a scraper beside the public allowance. */
const OPERATOR_RATE_PER_MINUTE = 600;

/**
 * Bun.serve's own cap: the largest legitimate body (a session start or control message, 512
 * KiB) plus 64 KiB, so that a body just over a route's cap meets that route's JSON 413 rather
 * than Bun's bare one, which only bodies no route could take ever get.
 */
export const MAX_REQUEST_BODY_BYTES =
  Math.max(MAX_INVOKE_BODY_BYTES, MAX_SESSION_BODY_BYTES) + 64 * 1024;

/** The public endpoints the per-address token bucket covers (the document says which). */
export const RATE_LIMITED_PATHS = [
  "/invoke/*",
  "/attestation",
  "/report/*",
  "/functions",
  "/sessions",
  "/sessions/*",
  "/refs/*",
  "/egress-log",
  "/egress-log/*",
  "/peer/*",
];

/** Behind the operator key, at their own allowance. */
export const OPERATOR_PATHS = ["/metrics", "/dashboard/data"];

export const HealthSchema = z
  .object({
    ok: z.literal(true),
    version: z.string(),
    tee: TeeDescriptionSchema.shape.provider,
    binarySha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable(),
  })
  .strict();

const healthOperation: Operation = {
  method: "get",
  path: "/healthz",
  operationId: "getHealth",
  tag: "meta",
  summary: "The process is up: its version, TEE provider and binary digest (as it states them)",
  responses: {
    200: { description: "Up", content: { "application/json": named("Health", HealthSchema) } },
  },
};

const peerAttachOperation: Operation = {
  method: "get",
  path: "/peer/attach",
  operationId: "attachPeer",
  tag: "sessions",
  summary:
    "A WebSocket on which another instance of this app forwards requests for sessions held here",
  description:
    'Only with a shared store (AUDITOR_STATE_URL): both ends prove the identity key in a handshake, then requests travel sealed (README "Scaling beyond one instance", docs/protocol.md "Sessions across instances"). Without a shared store this path is 404.',
  responses: {
    101: { description: "Upgraded to a WebSocket" },
    404: { description: "No shared store is configured", errors: ["not_found"] },
    426: { description: "Not a WebSocket upgrade request", errors: ["upgrade_required"] },
  },
};

const readyOperation: Operation = {
  method: "get",
  path: "/readyz",
  operationId: "getReadiness",
  tag: "meta",
  summary:
    "Whether this instance can serve: the state store and the TEE answer, and no shutdown began",
  responses: {
    200: {
      description: "Ready",
      content: { "application/json": named("Readiness", ReadinessReportSchema) },
    },
    503: {
      description: "Not ready: the report says what is missing",
      content: { "application/json": named("Readiness", ReadinessReportSchema) },
    },
  },
};

const runtimeAttachOperation: Operation = {
  method: "get",
  path: "/runtime/attach",
  operationId: "attachRuntime",
  tag: "sessions",
  summary: "A WebSocket on which an extracted runtime attaches (only with AUDITOR_RUNTIME_KEYS)",
  description:
    'The runtime proves a pinned key in a handshake, then runs sessions routed to it (README "Scaling beyond one instance"). Without AUDITOR_RUNTIME_KEYS this path is 404.',
  responses: {
    101: { description: "Upgraded to a WebSocket" },
    404: { description: "Extracted runtimes are not configured", errors: ["not_found"] },
    426: { description: "Not a WebSocket upgrade request", errors: ["upgrade_required"] },
  },
};

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(httpMetrics(deps.dashboard.metrics));
  app.use(requestLog(deps.log));
  app.use(deps.drain.middleware);
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
      allowHeaders: ["content-type", "authorization", "x-request-id"],
      exposeHeaders: ["retry-after", "x-request-id", RECEIPT_HEADER],
      maxAge: 600,
    }),
  );
  const limited = rateLimit(deps.rateLimitPerMinute, peerAddress);
  for (const path of RATE_LIMITED_PATHS) app.use(path, limited);
  const operatorLimited = rateLimit(
    Math.max(OPERATOR_RATE_PER_MINUTE, deps.rateLimitPerMinute),
    peerAddress,
  );
  for (const path of OPERATOR_PATHS) app.use(path, operatorLimited);

  app.get("/healthz", (c) => {
    const health: z.infer<typeof HealthSchema> = {
      ok: true,
      version: deps.version,
      tee: deps.attestor.statement.tee.provider,
      binarySha256: deps.attestor.statement.binarySha256,
    };
    return c.json(health);
  });
  // Not /healthz (the process is alive): whether this instance can serve, and what is missing.
  app.get("/readyz", async (c) => {
    const report = await deps.readiness.check();
    c.header("cache-control", "no-store");
    return c.json(report, report.ready ? 200 : 503);
  });
  app.route("/", attestationRoutes(deps.attestor, deps.log));
  app.route("/", functionRoutes(deps.host, deps.sealedInvoker, deps.receipts, deps.egressLog));
  const sessions = sessionRoutes({ ...deps.sessions, log: deps.log });
  app.route("/", sessions);
  if (deps.runtimes) {
    const runtimes = deps.runtimes;
    app.get(
      "/runtime/attach",
      ...webSocketAttach(() => runtimes.connection(), "an extracted runtime attaches here"),
    );
  }
  if (deps.peers) {
    const peers = deps.peers;
    // Forwarded requests meet the session routes alone: the forwarding instance already applied
    // the per-address limits, CORS and the request log for the client that made them.
    const forwarded = new Hono().route("/", sessions);
    forwarded.notFound((c) =>
      apiError(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`),
    );
    forwarded.onError((err, c) => {
      deps.log.error("unhandled error in a forwarded request", { path: c.req.path, err });
      return apiError(c, 500, "internal_error", "internal error");
    });
    const handle = (request: Request) => Promise.resolve(forwarded.fetch(request, FORWARDED_ENV));
    app.get(
      "/peer/attach",
      ...webSocketAttach(
        () => peers.connection(handle),
        "another instance of this app attaches here",
      ),
    );
  }
  app.route("/", sdkRoutes());
  app.route("/", sourceRoutes());
  app.route("/", egressLogRoutes(deps.egressLog, deps.drain.signal));
  app.route("/", webRoutes());
  app.route("/", dashboardRoutes(deps.dashboard, deps.operatorKeys));
  app.route(
    "/",
    reportRoutes(
      {
        host: deps.host,
        egressLog: deps.egressLog,
        attestor: deps.attestor,
        tee: deps.tee,
        channels: deps.channels,
        ...deps.report,
      },
      deps.log,
    ),
  );
  // Built once from code alone (never from configuration), so one build serves the same bytes:
  // /runtime/attach and /peer/attach are stated whether or not they are configured. Built when
  // first asked for, not during start-up (it turns every route's schemas into JSON Schema).
  const document = () =>
    openApiDocument({
      version: deps.version,
      rateLimited: [...RATE_LIMITED_PATHS, ...OPERATOR_PATHS],
      operations: [
        healthOperation,
        readyOperation,
        openApiOperation,
        ...attestationOperations,
        ...functionOperations(deps.host.list()),
        ...sessionOperations,
        runtimeAttachOperation,
        peerAttachOperation,
        ...sdkOperations,
        ...sourceOperations,
        ...egressLogOperations,
        ...reportOperations,
        ...webOperations,
        ...dashboardOperations,
      ],
    });
  app.route(
    "/",
    openApiRoutes(() => JSON.stringify(document())),
  );

  const wrongMethod = methodNotAllowed(app);
  app.notFound(
    (c) =>
      wrongMethod(c) ?? apiError(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`),
  );
  app.onError((err, c) => {
    deps.log.error("unhandled error", { path: c.req.path, err });
    return apiError(c, 500, "internal_error", "internal error");
  });
  return app;
}

/** What a WebSocket endpoint's connection handles: the channel's side of one socket. */
interface AttachedConnection {
  onOpen(ws: WSContext): void;
  onMessage(event: MessageEvent, ws: WSContext): void | Promise<void>;
  onClose(): void;
}

/**
 * The two handlers of a WebSocket endpoint: the upgrade, each socket with its own connection,
 * and the 426 a request that is no upgrade gets (`who` says who attaches there).
 */
function webSocketAttach(connect: () => AttachedConnection, who: string) {
  return [
    upgradeWebSocket(() => {
      const connection = connect();
      return {
        onOpen: (_event, ws) => connection.onOpen(ws),
        onMessage: (event, ws) => void connection.onMessage(event as MessageEvent, ws),
        onClose: () => connection.onClose(),
      };
    }),
    (c: Context) =>
      apiError(c, 426, "upgrade_required", `GET ${c.req.path}: send a WebSocket upgrade (${who})`),
  ] as const;
}
