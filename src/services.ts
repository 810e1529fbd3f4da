// What the server runs, built from its configuration and its TEE: the function host and its
// tools, the session manager and whoever runs its scripts (a worker pool or extracted runtimes),
// the metrics, the session directory across instances, and the app over all of them. main.ts
// keeps what can stop start-up with a message (configuration, the TEE, the store, listening).
import { availableParallelism } from "node:os";
import { FUNCTIONS } from "../functions/index.ts";
import { toBase64Url } from "../sdk/crypto/encoding.ts";
import { statementSha256 } from "../sdk/wire/receipt.ts";
import type { Config } from "./config.ts";
import {
  describeChannels,
  peerAllowance,
  type EgressLog,
  type InstalledGuards,
} from "./egress/index.ts";
import {
  FunctionHost,
  functionTools,
  ReceiptSigner,
  SealedInvoker,
  type HostDeps,
} from "./functions/index.ts";
import { createApp, Drain, sessionForwarding, type AppDeps } from "./http/index.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./metrics/index.ts";
import { Readiness } from "./readiness.ts";
import type { SessionToolSummary } from "./report/index.ts";
import {
  MemoryBudget,
  RemoteRuntimes,
  RuntimePool,
  ToolRegistry,
  type Runner,
} from "./runtime/index.ts";
import {
  DEFAULT_SESSION_SERVER_LIMITS,
  demoTools,
  INPUT_TOOL,
  PeerDialer,
  PeerListener,
  SessionDirectory,
  SessionManager,
} from "./sessions/index.ts";
import type { SealedStore } from "./store/index.ts";
import type { Attestor, Tee } from "./tee/index.ts";
import { VERSION } from "./version.ts";

/** What main.ts has set up before the services: the guarded network, the store, the CORS list. */
export interface Platform {
  log: Logger;
  egressLog: EgressLog;
  guards: Pick<InstalledGuards, "admit">;
  /** The fetch every function egress goes through (policy-checked and recorded). */
  auditedFetch: typeof fetch;
  /** Where the dstack guest agent is (resolved: a socket path or a URL). */
  dstackEndpoint: string;
  attestor: Attestor;
  store: SealedStore;
  corsOrigins: string[];
  /** The port the server listens on, once it does (for the report's channel list). */
  port: () => number;
}

export interface Services {
  app: ReturnType<typeof createApp>;
  drain: Drain;
  sessions: SessionManager;
  /** Work to do once the server listens: warm workers, name this instance to the others. */
  listening: (server: { url: string; port: number }, instanceUrl: string | undefined) => void;
  /** Closes what the services opened, in order. */
  onShutdown: Array<() => void | Promise<void>>;
  /** Stops the runners still busy when the shutdown grace ends. */
  atGraceEnd: () => void;
}

/**
 * Expired state is swept this often at most (more often when AUDITOR_STATE_IDLE_TTL_MS is
 * shorter): a minute late is nothing against an idle TTL counted in minutes or hours.
 */
const SWEEP_EVERY_MS = 60_000;

/** The function host's secrets and the upstream overrides tests and emulators use. */
function functionSecrets(config: Config): Pick<HostDeps, "secrets" | "overrides"> {
  return {
    secrets: {
      OPENROUTER_API_KEY: config.openrouterApiKey,
      ANTHROPIC_API_KEY: config.anthropicApiKey,
      FIRESTORE_SERVICE_ACCOUNT: config.firestoreServiceAccount,
    },
    overrides: {
      OPENROUTER_BASE_URL: config.openrouterBaseUrl,
      ANTHROPIC_BASE_URL: config.anthropicBaseUrl,
      FIRESTORE_EMULATOR_HOST: config.firestoreEmulatorHost,
    },
  };
}

/** Demo tools are on in dev and off under a real TEE, unless AUDITOR_DEMO_TOOLS says otherwise. */
const demoToolsEnabled = (config: Config, tee: Tee): boolean =>
  config.demoTools ?? tee.provider === "dev";

export function buildServices(config: Config, tee: Tee, platform: Platform): Services {
  const { log, egressLog, attestor, store, corsOrigins } = platform;
  const startedAt = Date.now();
  // The sessions gauge reads the manager, made below; it is only collected once /metrics is asked.
  let sessions: SessionManager | undefined;
  const metrics = new Metrics({
    version: VERSION,
    tee: tee.provider,
    binarySha256: attestor.statement.binarySha256,
    sessionsByState: () => sessions?.countByState() ?? {},
    storeUp: () => store.health.ok,
  });
  metrics.watch(egressLog);
  const host = new FunctionHost(FUNCTIONS, {
    observer: metrics,
    fetch: platform.auditedFetch,
    store,
    log,
    ...functionSecrets(config),
    stateIdleTtlMs: config.stateIdleTtlMs,
  });

  const demoEnabled = demoToolsEnabled(config, tee);
  const demo = demoEnabled ? demoTools() : [];
  const asFunctions = functionTools(host);
  const tools = new ToolRegistry([...demo, ...asFunctions]);
  const sessionTools: SessionToolSummary[] = [
    {
      name: INPUT_TOOL,
      kind: "input",
      description: "asks the client for a value (POST /sessions/:id/input)",
    },
    ...demo.map((t) => ({ name: t.name, kind: "demo" as const, description: t.description ?? "" })),
    ...asFunctions.map((t) => ({
      name: t.name,
      kind: "function" as const,
      description: `the attested function ${t.name}, under its own schemas, egress policy and secrets`,
    })),
  ];

  // Sessions run in a worker pool here, or, with runtime keys, on extracted runtimes that
  // attach with a pinned key (then no pool is made).
  const remote =
    config.runtimeKeys.length > 0
      ? new RemoteRuntimes(tee.identityKey(), config.runtimeKeys, log)
      : undefined;
  const cores = availableParallelism();
  const maxWorkers = config.maxWorkers ?? 8 * cores;
  const budget = new MemoryBudget(config.memoryBudgetMb * 1024 * 1024, maxWorkers);
  const pool = remote
    ? undefined
    : new RuntimePool({ minWorkers: Math.min(cores, maxWorkers), maxWorkers, budget });
  const runner: Runner = remote
    ? (code, options) => remote.run(code, options)
    : (code, options) => pool!.run(code, options);
  const sessionMaxima = {
    ...DEFAULT_SESSION_SERVER_LIMITS.maxima,
    sessionTtlMs: config.sessionTtlMs,
    timeoutMs: config.sessionTtlMs,
    memoryBytes: config.sessionMemoryMb * 1024 * 1024,
  };
  const manager = new SessionManager(
    tools,
    {
      ...DEFAULT_SESSION_SERVER_LIMITS,
      maxConcurrentSessions: config.maxSessions,
      maxSessionsPerCaller: config.maxSessionsPerCaller,
      maxima: sessionMaxima,
      heartbeatMs: config.heartbeatMs,
      disconnectGraceMs: config.disconnectGraceMs,
    },
    runner,
    budget,
    {
      log,
      observer: {
        started: (session) => metrics.sessionStarted(session.channel.encrypted),
        ended: (session) =>
          metrics.sessionEnded({
            outcome: session.outcome ?? "unknown",
            toolCalls: session.stats.toolCallCount,
            cpuMs: session.stats.cpuMs,
          }),
      },
    },
  );
  sessions = manager;

  const drain = new Drain();
  const readiness = new Readiness({ store, tee, shuttingDown: () => drain.draining });
  // Sessions across instances: with a shared store, a directory says which instance holds a
  // session, and a request reaching another instance is forwarded to it over the peer channel.
  const instanceId = `ins_${toBase64Url(crypto.getRandomValues(new Uint8Array(12)))}`;
  const directory = config.stateUrl
    ? new SessionDirectory(
        store.scope("sessions/directory"),
        (id) => manager.get(id) !== undefined,
        log,
      )
    : undefined;
  const peerDialer = directory
    ? new PeerDialer(tee.identityKey(), instanceId, log, (url) =>
        platform.guards.admit(peerAllowance(url)),
      )
    : undefined;
  const peerListener = directory ? new PeerListener(tee.identityKey(), instanceId, log) : undefined;
  const sweeper = setInterval(
    () =>
      void store
        .sweepExpired()
        .catch((err) =>
          log.warn("sweeping expired state failed", { reason: (err as Error).message }),
        ),
    Math.min(config.stateIdleTtlMs, SWEEP_EVERY_MS),
  );

  const storeDescription = store.description;
  const deps: AppDeps = {
    log,
    version: VERSION,
    attestor,
    tee,
    host,
    egressLog,
    channels: () =>
      describeChannels({
        tee: tee.provider,
        dstackEndpoint: platform.dstackEndpoint,
        stateUrl: config.stateUrl,
        host: config.host,
        port: platform.port(),
        extractedRuntimes: remote !== undefined,
      }),
    sealedInvoker: new SealedInvoker(tee.invokeKey(), attestor.statement.kid),
    receipts: new ReceiptSigner(
      tee.identityKey(),
      attestor.statement.kid,
      statementSha256(attestor.statement),
    ),
    corsOrigins,
    rateLimitPerMinute: config.rateLimitPerMinute,
    maxInFlightPerAddress: config.maxInFlightPerAddress,
    sessions: {
      manager,
      apiKeys: config.apiKeys,
      identity: tee.identityKey(),
      kid: attestor.statement.kid,
      ...(directory && peerDialer ? { remote: sessionForwarding(directory, peerDialer, log) } : {}),
    },
    ...(remote ? { runtimes: remote } : {}),
    operatorKeys: config.operatorKeys,
    dashboard: {
      metrics,
      startedAt,
      attestation: () => ({
        attested: tee.provider === "dstack",
        provider: tee.provider,
        kid: attestor.statement.kid,
        binarySha256: attestor.statement.binarySha256,
      }),
      sessions: manager,
      budget,
      store: () => {
        const health = store.health;
        const detail = health.ok
          ? `answering since ${health.since}`
          : `not answering since ${health.since} (${health.lastError})`;
        return {
          kind: storeDescription.kind,
          host: storeDescription.host ?? null,
          up: health.ok,
          detail,
        };
      },
    },
    report: {
      sessionTools,
      sessionMaxima,
      settings: {
        sessionCreationNeedsKey: config.apiKeys.length > 0,
        demoTools: demoEnabled,
        extractedRuntimes: remote !== undefined,
        rateLimitPerMinute: config.rateLimitPerMinute,
        maxInFlightPerAddress: config.maxInFlightPerAddress,
        maxSessions: config.maxSessions,
        maxSessionsPerCaller: config.maxSessionsPerCaller,
        memoryBudgetMb: config.memoryBudgetMb,
        logLevel: config.logLevel,
        corsOrigins,
      },
    },
    readiness,
    drain,
    ...(peerListener ? { peers: peerListener } : {}),
  };

  return {
    app: createApp(deps),
    drain,
    sessions: manager,
    listening: (server, instanceUrl) => {
      if (directory && instanceUrl) directory.announce({ instanceId, url: instanceUrl });
      else if (directory) {
        log.warn(
          "sessions started here are not in the session directory (HOST is a wildcard address and AUDITOR_INSTANCE_URL is not set): other instances cannot forward their requests here",
        );
      }
      // Workers start after the server listens: start-up does not wait for them.
      setTimeout(() => pool?.warm(), 0);
      log.info("listening", {
        url: server.url,
        port: server.port,
        version: VERSION,
        tee: tee.provider,
        kid: attestor.statement.kid,
        binarySha256: attestor.statement.binarySha256,
        ...(directory ? { instanceId, instanceUrl: directory.address?.url ?? null } : {}),
      });
    },
    onShutdown: [
      () => clearInterval(sweeper),
      () => pool?.terminate(),
      () => remote?.closeAll(),
      () => peerDialer?.closeAll(),
      () => peerListener?.closeAll(),
      () => directory?.close(),
      () => store.close(),
    ],
    atGraceEnd: () => {
      pool?.terminate();
      remote?.closeAll();
    },
  };
}
