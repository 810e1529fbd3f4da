// Entry point of the auditor executable: the subcommands, then the server. What can stop
// start-up with a message is here (configuration, the TEE, CORS, the store, listening); what the
// server runs is built by src/services.ts.
import "./start-early.ts"; // first: what it starts runs beside the other modules' evaluation
import { ConfigError, defaultInstanceUrl, helpText, instanceUrlFor, loadConfig } from "./config.ts";
import {
  channelAllowances,
  EgressLog,
  installAuditedFetch,
  installChannelGuards,
  logEgressEntries,
} from "./egress/index.ts";
import { CorsConfigError, MAX_REQUEST_BODY_BYTES, resolveCorsOrigins } from "./http/index.ts";
import { createLogger } from "./log.ts";
import { runRuntime } from "./runtime/index.ts";
import { selfDigest } from "./self-digest.ts";
import { startServer, type RunningServer } from "./server.ts";
import { buildServices } from "./services.ts";
import { SOURCE_PROVENANCE } from "./source/index.ts";
import { SealedStore } from "./store/index.ts";
import {
  createAttestor,
  createTee,
  resolveDstackEndpoint,
  TeeError,
  type Attestor,
} from "./tee/index.ts";
import { runVerify } from "./verify/index.ts";
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
    console.log(
      `auditor ${VERSION}\nsha256 ${digest ?? "none (running from source, not a compiled binary)"}`,
    );
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
    allow: channelAllowances({
      dstackEndpoint,
      stateUrl: config.stateUrl,
      host: config.host,
      port: config.port,
    }),
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
    instanceUrl =
      config.instanceUrl === undefined
        ? undefined
        : instanceUrlFor(config.instanceUrl, teeInstanceId);
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

  let store: SealedStore;
  try {
    store = await SealedStore.open(config.dataDir, tee.sealingKey(), {
      ...(config.stateMaxBytes === undefined ? {} : { maxBytes: config.stateMaxBytes }),
      ...(config.stateUrl === undefined ? {} : { url: config.stateUrl }),
    });
  } catch (err) {
    console.error(
      `auditor: cannot open sealed state ${config.stateUrl ? "at AUDITOR_STATE_URL" : `in ${config.dataDir}`}: ${(err as Error).message}`,
    );
    return 1;
  }
  // The binary has been hashing on its own thread since start-up began (src/start-early.ts);
  // opening the store went on beside it.
  const attestor = createAttestor(tee, await selfDigest(), SOURCE_PROVENANCE);
  let server: RunningServer | undefined;
  const services = buildServices(config, tee, {
    log,
    egressLog,
    guards,
    auditedFetch,
    dstackEndpoint,
    attestor,
    store,
    corsOrigins,
    port: () => server?.port ?? config.port,
  });
  const { onShutdown } = services;
  try {
    server = startServer(services.app, {
      host: config.host,
      port: config.port,
      graceMs: config.shutdownGraceMs,
      maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
      log,
      drain: services.drain,
      onShutdown,
      // Every session gets its final now (a busy script is stopped mid-slice through the pool's
      // shared cancel flag); a runtime still busy when the grace ends is stopped.
      onDrain: () => services.sessions.cancelAll("the server is shutting down"),
      atGraceEnd: services.atGraceEnd,
    });
  } catch (err) {
    // One line a person can act on, never a stack trace; what was opened is closed again.
    console.error(`auditor: ${listenFailure(err, config.host, config.port)}`);
    for (const close of onShutdown) await close();
    return 1;
  }
  const listening = server;
  services.listening(listening, instanceUrl ?? defaultInstanceUrl(config.host, listening.port));
  // For people, beside the JSON log: where the page is and whether its claims are hardware-backed.
  const pageUrl = `${listening.url}/`;
  void attestationSummary(attestor).then((summary) =>
    console.error(`auditor: serving ETHEREA at ${pageUrl} (${summary})`),
  );

  const exitCode = await new Promise<number>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.on(signal, () => void listening.shutdown(signal).then(() => resolve(0)));
    }
  });
  return exitCode;
}

function listenFailure(err: unknown, host: string, port: number): string {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  if (code === "EADDRINUSE") return `port ${port} is already in use (set PORT or --port)`;
  if (code === "EACCES") return `no permission to listen on port ${port} (set PORT or --port)`;
  if (code === "EADDRNOTAVAIL")
    return `${host} is not an address of this machine (set HOST or --host)`;
  return `cannot listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`;
}

/** Whether the statement is bound to a hardware quote, found by asking for one. */
async function attestationSummary(attestor: Attestor): Promise<string> {
  try {
    const { attested, statement } = await attestor.attest();
    return attested
      ? `attested: Intel TDX quote, dstack app ${statement.tee.appId ?? "unknown"}`
      : "dev mode: not attested";
  } catch (err) {
    return `not attested: the quote failed (${(err as Error).message})`;
  }
}

const code = await main(process.argv.slice(2));
process.exit(code);
