// Entry point of the auditor executable.
import { ConfigError, defaultInstanceUrl, helpText, instanceUrlFor, loadConfig } from "./config.ts";
import { FUNCTIONS } from "../functions/index.ts";
import { channelAllowances, describeChannels, EgressLog, installAuditedFetch, installChannelGuards, logEgressEntries, peerAllowance } from "./egress/index.ts";
import { FunctionHost } from "./functions/host.ts";
import { Metrics } from "./metrics/index.ts";
import { functionTools } from "./functions/tools.ts";
import { SealedInvoker } from "./functions/sealed-invoke.ts";
import { ReceiptSigner } from "./functions/receipts.ts";
import { statementSha256 } from "../sdk/wire/receipt.ts";
import { createApp, MAX_REQUEST_BODY_BYTES } from "./http/app.ts";
import { Drain } from "./http/drain.ts";
import { Readiness } from "./readiness.ts";
import { sessionForwarding } from "./http/session-forwarding.ts";
import { toBase64Url } from "../sdk/crypto/encoding.ts";
import { SessionDirectory } from "./sessions/directory.ts";
import { PeerDialer } from "./sessions/peer-dialer.ts";
import { PeerListener } from "./sessions/peer-listener.ts";
import { CorsConfigError, resolveCorsOrigins } from "./http/cors-origins.ts";
import { createLogger } from "./log.ts";
import { selfDigest } from "./self-digest.ts";
import { startServer, type RunningServer } from "./server.ts";
import { SealedStore } from "./store/index.ts";
import { availableParallelism } from "node:os";
import { ToolRegistry } from "./runtime/index.ts";
import { MemoryBudget } from "./runtime/memory-budget.ts";
import { RuntimePool } from "./runtime/pool.ts";
import { demoTools } from "./sessions/demo-tools.ts";
import { INPUT_TOOL } from "./sessions/tool-calls.ts";
import type { SessionToolSummary } from "./report/index.ts";
import { DEFAULT_SESSION_SERVER_LIMITS, SessionManager } from "./sessions/manager.ts";
import { SOURCE_PROVENANCE } from "./source/index.ts";
import { createAttestor, createTee, TeeError, type Attestor } from "./tee/index.ts";
import { resolveDstackEndpoint } from "./tee/dstack.ts";
import { runVerify } from "./verify/cli.ts";
import { RemoteRuntimes } from "./runtime/remote/runtimes.ts";
import { runRuntime } from "./runtime/remote/runtime-main.ts";
import { VERSION } from "./version.ts";

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "verify") return runVerify(argv.slice(1));
  if (argv[0] === "runtime") return runRuntime(argv.slice(1));
  if (argv.includes("--help")) {
    console.log(helpText(VERSION));
    return 0;
  }
  if (argv.includes("--version")) {
    const digest = await selfDigest();
    console.log(`auditor ${VERSION}\nsha256 ${digest ?? "none (running from source, not a compiled binary)"}`);
    return 0;
  }

  let config;
  try {
    config = loadConfig(process.env, argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`auditor: ${err.message}`);
    return 2;
  }
  const log = createLogger(config.logLevel);

  // Before anything can reach the network: every channel but the declared ones refuses (and is
  // recorded), and every fetch is audited.
  const egressLog = new EgressLog();
  logEgressEntries(egressLog, log);
  const dstackEndpoint = resolveDstackEndpoint(config.dstackEndpoint);
  const guards = installChannelGuards({
    egressLog,
    log,
    allow: channelAllowances({ dstackEndpoint, stateUrl: config.stateUrl, host: config.host, port: config.port }),
  });
  const auditedFetch = installAuditedFetch(egressLog);
  log.debug("network channels guarded", { unguardable: guards.unguarded });

  let tee;
  try {
    tee = await createTee(config);
  } catch (err) {
    if (!(err instanceof TeeError)) throw err;
    log.error("TEE unavailable; refusing to start", { reason: err.message });
    console.error(`auditor: ${err.message}`);
    return 1;
  }
  // dstack names the instance; a dev server's chain is named per process (seq restarts at 1).
  const teeInstanceId = tee.info().instanceId;
  if (teeInstanceId) egressLog.nameInstance(teeInstanceId);
  let instanceUrl: string | undefined;
  try {
    instanceUrl = config.instanceUrl === undefined ? undefined : instanceUrlFor(config.instanceUrl, teeInstanceId);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`auditor: ${err.message}`);
    return 2;
  }
  let corsOrigins: string[];
  try {
    corsOrigins = resolveCorsOrigins(config.corsOrigins, tee.provider);
  } catch (err) {
    if (!(err instanceof CorsConfigError)) throw err;
    console.error(`auditor: ${err.message}`);
    return 2;
  }


  const attestor = createAttestor(tee, await selfDigest(), SOURCE_PROVENANCE);
  let store: SealedStore;
  try {
    store = await SealedStore.open(config.dataDir, tee.sealingKey(), {
      ...(config.stateMaxBytes === undefined ? {} : { maxBytes: config.stateMaxBytes }),
      ...(config.stateUrl === undefined ? {} : { url: config.stateUrl }),
    });
  } catch (err) {
    console.error(`auditor: cannot open sealed state ${config.stateUrl ? "at AUDITOR_STATE_URL" : `in ${config.dataDir}`}: ${(err as Error).message}`);
    return 1;
  }
  const startedAt = Date.now();
  // The sessions gauge reads the manager, made below; it is only collected once /metrics is asked.
  let sessions: SessionManager | undefined;
  const metrics = new Metrics({ version: VERSION, tee: tee.provider, binarySha256: attestor.statement.binarySha256, sessionsByState: () => sessions?.countByState() ?? {}, storeUp: () => store.health.ok });
  metrics.watch(egressLog);
  const host = new FunctionHost(FUNCTIONS, {
    observer: metrics,
    fetch: auditedFetch,
    store,
    log,
    secrets: { OPENROUTER_API_KEY: config.openrouterApiKey, ANTHROPIC_API_KEY: config.anthropicApiKey, FIRESTORE_SERVICE_ACCOUNT: config.firestoreServiceAccount },
    overrides: { OPENROUTER_BASE_URL: config.openrouterBaseUrl, ANTHROPIC_BASE_URL: config.anthropicBaseUrl, FIRESTORE_EMULATOR_HOST: config.firestoreEmulatorHost },
    stateIdleTtlMs: config.stateIdleTtlMs,
  });
  const demoEnabled = config.demoTools ?? tee.provider === "dev";
  const demo = demoEnabled ? demoTools() : [];
  const asFunctions = functionTools(host);
  const tools = new ToolRegistry([...demo, ...asFunctions]);
  const sessionTools: SessionToolSummary[] = [
    { name: INPUT_TOOL, kind: "input", description: "asks the client for a value (POST /sessions/:id/input)" },
    ...demo.map((t) => ({ name: t.name, kind: "demo" as const, description: t.description ?? "" })),
    ...asFunctions.map((t) => ({ name: t.name, kind: "function" as const, description: `the attested function ${t.name}, under its own schemas, egress policy and secrets` })),
  ];
  // Sessions run here, in a worker pool, or on extracted runtimes that attach with a pinned key.
  const remote = config.runtimeKeys.length > 0 ? new RemoteRuntimes(tee.identityKey(), config.runtimeKeys, log) : undefined;
  const cores = availableParallelism();
  const maxWorkers = config.maxWorkers ?? 8 * cores;
  const budget = new MemoryBudget(config.memoryBudgetMb * 1024 * 1024, maxWorkers);
  const pool = remote ? undefined : new RuntimePool({ minWorkers: Math.min(cores, maxWorkers), maxWorkers, budget });
  const sessionMaxima = { ...DEFAULT_SESSION_SERVER_LIMITS.maxima, sessionTtlMs: config.sessionTtlMs, timeoutMs: config.sessionTtlMs, memoryBytes: config.sessionMemoryMb * 1024 * 1024 };
  sessions = new SessionManager(tools, {
    ...DEFAULT_SESSION_SERVER_LIMITS,
    maxConcurrentSessions: config.maxSessions,
    maxSessionsPerCaller: config.maxSessionsPerCaller,
    maxima: sessionMaxima,
    heartbeatMs: config.heartbeatMs,
    disconnectGraceMs: config.disconnectGraceMs,
  }, (code, options) => (remote ? remote.run(code, options) : pool!.run(code, options)), budget, {
    log,
    observer: {
      started: (session) => metrics.sessionStarted(session.channel.encrypted),
      ended: (session) => metrics.sessionEnded({ outcome: session.outcome ?? "unknown", toolCalls: session.stats.toolCallCount, cpuMs: session.stats.cpuMs }),
    },
  });
  const storeDescription = store.description;
  const drain = new Drain();
  const readiness = new Readiness({ store, tee, shuttingDown: () => drain.draining });
  // Sessions across instances: with a shared store, a directory says which instance holds a
  // session, and a request reaching another instance is forwarded to it over the peer channel.
  const instanceId = `ins_${toBase64Url(crypto.getRandomValues(new Uint8Array(12)))}`;
  const directory = config.stateUrl ? new SessionDirectory(store.scope("sessions/directory"), (id) => sessions.get(id) !== undefined, log) : undefined;
  const peerDialer = directory ? new PeerDialer(tee.identityKey(), instanceId, log, (url) => guards.admit(peerAllowance(url))) : undefined;
  const peerListener = directory ? new PeerListener(tee.identityKey(), instanceId, log) : undefined;
  const sweeper = setInterval(() => void store.sweepExpired().catch((err) => log.warn("sweeping expired state failed", { reason: (err as Error).message })), Math.min(config.stateIdleTtlMs, 60_000));
  const app = createApp({
    log, version: VERSION, attestor, tee, host, egressLog,
    channels: () => describeChannels({ tee: tee.provider, dstackEndpoint, stateUrl: config.stateUrl, host: config.host, port: server.port, extractedRuntimes: remote !== undefined }),
    sealedInvoker: new SealedInvoker(tee.invokeKey(), attestor.statement.kid),
    receipts: new ReceiptSigner(tee.identityKey(), attestor.statement.kid, statementSha256(attestor.statement)),
    corsOrigins, rateLimitPerMinute: config.rateLimitPerMinute, maxInFlightPerAddress: config.maxInFlightPerAddress,
    sessions: {
      manager: sessions, apiKeys: config.apiKeys, identity: tee.identityKey(), kid: attestor.statement.kid,
      ...(directory && peerDialer ? { remote: sessionForwarding(directory, peerDialer, log) } : {}),
    },
    ...(remote ? { runtimes: remote } : {}),
    operatorKeys: config.operatorKeys,
    dashboard: {
      metrics,
      startedAt,
      attestation: () => ({ attested: tee.provider === "dstack", provider: tee.provider, kid: attestor.statement.kid, binarySha256: attestor.statement.binarySha256 }),
      sessions,
      budget,
      store: () => {
        const health = store.health;
        const detail = health.ok ? `answering since ${health.since}` : `not answering since ${health.since} (${health.lastError})`;
        return { kind: storeDescription.kind, host: storeDescription.host ?? null, up: health.ok, detail };
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
    readiness, drain,
    ...(peerListener ? { peers: peerListener } : {}),
  });
  const onShutdown = [
    () => clearInterval(sweeper), () => pool?.terminate(), () => remote?.closeAll(),
    () => peerDialer?.closeAll(), () => peerListener?.closeAll(), () => directory?.close(), () => store.close(),
  ];
  let server: RunningServer;
  try {
    server = startServer(app, {
      host: config.host,
      port: config.port,
      graceMs: config.shutdownGraceMs,
      maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
      log,
      drain,
      onShutdown,
      // Every session gets its final now (a busy script is stopped mid-slice through the pool's
      // shared cancel flag); a runtime still busy when the grace ends is stopped.
      onDrain: () => sessions.cancelAll("the server is shutting down"),
      atGraceEnd: () => {
        pool?.terminate();
        remote?.closeAll();
      },
    });
  } catch (err) {
    // One line a person can act on, never a stack trace; what was opened is closed again.
    console.error(`auditor: ${listenFailure(err, config.host, config.port)}`);
    for (const close of onShutdown) await close();
    return 1;
  }
  instanceUrl ??= defaultInstanceUrl(config.host, server.port);
  if (directory && instanceUrl) directory.announce({ instanceId, url: instanceUrl });
  else if (directory) log.warn("sessions started here are not in the session directory (HOST is a wildcard address and AUDITOR_INSTANCE_URL is not set): other instances cannot forward their requests here");
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
  // For people, beside the JSON log: where the page is and whether its claims are hardware-backed.
  const pageUrl = `${server.url}/`;
  void attestationSummary(attestor).then((summary) => console.error(`auditor: serving ETHEREA at ${pageUrl} (${summary})`));

  const exitCode = await new Promise<number>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.on(signal, () => void server.shutdown(signal).then(() => resolve(0)));
    }
  });
  return exitCode;
}

function listenFailure(err: unknown, host: string, port: number): string {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  if (code === "EADDRINUSE") return `port ${port} is already in use (set PORT or --port)`;
  if (code === "EACCES") return `no permission to listen on port ${port} (set PORT or --port)`;
  if (code === "EADDRNOTAVAIL") return `${host} is not an address of this machine (set HOST or --host)`;
  return `cannot listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`;
}

/** Whether the statement is bound to a hardware quote, found by asking for one. */
async function attestationSummary(attestor: Attestor): Promise<string> {
  try {
    const { attested, statement } = await attestor.attest();
    return attested ? `attested: Intel TDX quote, dstack app ${statement.tee.appId ?? "unknown"}` : "dev mode: not attested";
  } catch (err) {
    return `not attested: the quote failed (${(err as Error).message})`;
  }
}

const code = await main(process.argv.slice(2));
process.exit(code);
