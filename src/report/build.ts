// GET /report/:app (DESIGN "Reports", "Provenance, receipts and the public egress log"):
// everything a person or an AI agent needs to judge an app's data flow from the service alone:
// the source, what each function may send where and what it sends now, the running
// configuration, the public egress log, the formulas and the steps to check it all, each claim
// labelled with how it is known. Without a quote, whatever would lean on one says "not attested".
import { toHex } from "../../sdk/crypto/encoding.ts";
import type { ChannelDescription, EgressLog } from "../egress/index.ts";
import type { FunctionHost } from "../functions/host.ts";
import type { Attestor, Tee } from "../tee/index.ts";
import {
  reportBindingData,
  reportDigest,
  type Claim,
  type KnownBy,
  type Report,
} from "../../sdk/wire/report.ts";
import { SESSION_ID_HOLDER } from "../../functions/lib/session-id.ts";
import { DEFINITIONS, verificationSteps } from "./guide.ts";

export {
  REPORT_DOMAIN,
  reportBindingData,
  type Claim,
  type KnownBy,
  type Report,
  type ReportBinding,
} from "../../sdk/wire/report.ts";
const RECENT_EGRESS_ENTRIES = 50;

/** What the running server states about its own configuration (values, never secrets). */
export interface ReportSettings {
  sessionCreationNeedsKey: boolean;
  demoTools: boolean;
  extractedRuntimes: boolean;
  rateLimitPerMinute: number;
  maxInFlightPerAddress: number;
  maxSessions: number;
  maxSessionsPerCaller: number;
  memoryBudgetMb: number;
  logLevel: string;
  corsOrigins: string[];
}

export interface SessionToolSummary {
  name: string;
  kind: "demo" | "input" | "function";
  description: string;
}

export interface ReportDeps {
  host: FunctionHost;
  egressLog: EgressLog;
  attestor: Attestor;
  tee: Pick<Tee, "quote">;
  /** Read per report: the listener's port is known only once it listens. */
  channels: () => ChannelDescription[];
  settings: ReportSettings;
  sessionTools: SessionToolSummary[];
  /** The largest limits a session may ask for. */
  sessionMaxima: Record<string, number>;
}

export const LOGS_CONTAIN =
  "one JSON object a line on stdout: time, level, message, request id (the caller's X-Request-Id when valid), method, path (query values never), status, duration, function and session names, each egress attempt's metadata as the public egress log holds it (seq, host, path, status, byte counts), session limits and stats, error categories; never a request or response body, transcript, prompt, tool value or secret";

export function buildReport(app: string, deps: ReportDeps): Report | undefined {
  const functions = deps.host.list(app);
  if (functions.length === 0) return undefined;
  const statement = deps.attestor.statement;
  const attested = statement.tee.provider === "dstack";
  // What leans on the quote is hardware (or measured code) only when there is a quote.
  const hardware: KnownBy = attested ? "hardware" : "not attested";
  const measured: KnownBy = attested ? "measured-code" : "not attested";
  const devNote = attested
    ? ""
    : "not attested: the dev provider has no TDX quote, so this is only the server's word; ";
  const channels = deps.channels();
  const store = deps.host.stateStore;
  const egress = functions.flatMap((f) => f.egress.map((e) => ({ fn: f.definition.name, ...e })));
  const enabledOrigins = [...new Set(egress.filter((e) => e.enabled).map((e) => e.origin))];
  const allOrigins = [...new Set(egress.map((e) => e.origin))];
  const analytics = egress.filter((e) => e.name === "firestore" || e.name === "google-oauth");
  const analyticsOn = analytics.some((e) => e.enabled && e.name === "firestore");
  const llm = egress.filter((e) => e.name === "openrouter" || e.name === "anthropic");
  const llmOn = [...new Set(llm.filter((e) => e.enabled).map((e) => `${e.name} (${e.origin})`))];
  const { settings } = deps;
  const { source } = statement;

  const claims: Claim[] = [
    {
      claim: `the server's identity key is ${statement.identityKey.slice(0, 16)}… (kid ${statement.kid})`,
      knownBy: hardware,
      how: `${devNote}the statement's SHA-512 is the report data of the TDX quote from GET /attestation; verify the quote's signature chain`,
    },
    {
      claim: statement.binarySha256
        ? `the running binary is sha256 ${statement.binarySha256}`
        : "the server runs from source (no binary digest)",
      knownBy: hardware,
      how: `${devNote}binarySha256 is inside the quoted statement; rebuild the commit (npm ci && npm run build) and compare`,
    },
    {
      claim: `the binary was built from ${source.repository} at commit ${source.commit ?? "(unknown: not built from a git checkout)"}, whose files hash to treeSha256 ${source.treeSha256}`,
      knownBy: hardware,
      how: `${devNote}source is inside the quoted statement; GET /source lists the files and serves each one, and SHA-256(JCS(files)) recomputes treeSha256`,
    },
    ...functions.map(
      (f): Claim => ({
        claim: `${f.definition.name} is built from ${f.sources.map((s) => s.path).join(", ")} (sourceSha256 ${f.sourceSha256})`,
        knownBy: "derived",
        how: "hash each GET /source/<path>; sourceSha256 = SHA-256(JCS(sources)); the files are part of the attested source tree",
      }),
    ),
    {
      claim: `${app}'s functions may send data only to ${allOrigins.join(", ")}; with the configuration they run with now, only to ${enabledOrigins.length ? enabledOrigins.join(", ") : "nowhere (every answer is made inside the TEE)"}`,
      knownBy: measured,
      how: `${devNote}the policy is the manifests' egress origins in the attested source plus the operator overrides listed here; the one audited fetch refuses every other origin, every https-to-http redirect, and drops credentials on cross-origin redirects; which upstreams are enabled follows from which secrets are set (functions[].egress[].enabledBecause)`,
    },
    ...egress
      .filter((e) => e.overriddenBy)
      .map(
        (e): Claim => ({
          claim: `the operator replaced ${e.declaredUrl} with ${e.url} through ${e.overriddenBy}`,
          knownBy: "operator",
          how: "operator configuration (an environment variable, encrypted in dstack); data for this upstream goes to the overriding origin instead",
        }),
      ),
    {
      claim: analyticsOn
        ? `analytics are on: each generate-prompt record (session id, transcript, prompt, style tags, provider) is written to ${analytics.find((e) => e.name === "firestore")!.origin}`
        : "analytics are off: prompt records are written nowhere",
      knownBy: measured,
      how: `${devNote}the Firestore sink writes only when FIRESTORE_SERVICE_ACCOUNT or FIRESTORE_EMULATOR_HOST is set, and each write is in the egress log and in the call's receipt`,
    },
    {
      claim: store.host
        ? `sealed state lives in a shared ${store.kind} at ${store.origin ?? store.host}, which receives only ciphertext and hashed record names`
        : "sealed state stays on this instance (bun:sqlite in its data dir), encrypted",
      knownBy: measured,
      how: `${devNote}src/store seals every value with AES-256-GCM under the TEE sealing key (record name as AAD)${store.host ? " and HMACs the names before the backend sees them; the store's location is the operator's (AUDITOR_STATE_URL)" : ""}`,
    },
    {
      claim:
        "secret values (API keys, service accounts, session keys) never leave the TEE: no endpoint, receipt, report or log line returns them, and a function reads only the secrets its manifest names",
      knownBy: measured,
      how: `${devNote}read src/functions/host.ts (secrets per manifest), src/config.ts (secrets are environment-only and never echoed) and src/log.ts; the tests scan every response, report and log line for them`,
    },
    {
      claim: `logs contain ${LOGS_CONTAIN}`,
      knownBy: measured,
      how: `${devNote}src/log.ts and src/http/request-log.ts are the only loggers; log level ${settings.logLevel}`,
    },
    {
      claim: `besides function egress, the process opens only these channels: ${channels
        .filter((c) => c.destination)
        .map((c) => `${c.name} (${c.destination})`)
        .join(", ")}`,
      knownBy: measured,
      how: `${devNote}src/egress/channel-guard.ts replaces every other network primitive at start-up with one that refuses and records the attempt in the egress log (allowed: false), and refuses them all inside a function invocation`,
    },
    {
      claim:
        "every outbound attempt is in the public egress log, and every /invoke answer carries a receipt signed by the identity key that lists the log entries the call caused",
      knownBy: "derived",
      how: "recompute the chain over GET /egress-log and verify a receipt's signature and digests (definitions.egressLogChain, definitions.receipt); that nothing left unlogged is the measured code's promise",
    },
    {
      claim: settings.sessionCreationNeedsKey
        ? "creating an AgentScript session needs an API key (AUDITOR_API_KEYS)"
        : "session creation is open: anyone who can reach the server may start an AgentScript session (no AUDITOR_API_KEYS)",
      knownBy: "operator",
      how: "operator configuration; a session can call only the tools listed in sessions.tools, under the limits in sessions.maxima",
    },
  ];

  const setting = (
    value: string | number | boolean | null,
    setBy: string | null,
    meaning: string,
    knownBy: KnownBy = measured,
  ) => ({ value, knownBy, setBy, meaning });
  return {
    v: 1,
    app,
    generatedAt: new Date().toISOString(),
    binarySha256: statement.binarySha256,
    attestation: statement,
    attested,
    source,
    functions: functions.map((f) => ({
      name: f.definition.name,
      description: f.definition.description,
      input: f.inputSchema,
      output: f.outputSchema,
      egress: f.egress,
      secrets: [...f.definition.secrets],
      sessionTool: f.definition.sessionTool === true,
      sources: f.sources,
      sourceSha256: f.sourceSha256,
    })),
    egressPolicy: [
      ...egress.map((e) => ({
        fn: e.fn,
        origin: e.origin,
        host: e.host,
        url: e.url,
        operatorOverride: e.overriddenBy,
        enabled: e.enabled,
      })),
      ...(store.host
        ? [
            {
              fn: "(sealed state)",
              origin: store.origin!,
              host: store.host,
              url: store.origin!,
              operatorOverride: "AUDITOR_STATE_URL",
              enabled: true,
            },
          ]
        : []),
    ],
    stateStore: {
      kind: store.kind,
      host: store.host ?? null,
      receives: store.host
        ? "AES-256-GCM ciphertext, HMAC-SHA256-hashed record names and expiry times; never a key or plaintext"
        : "nothing leaves the instance: bun:sqlite in the data dir, AES-256-GCM ciphertext",
    },
    channels,
    configuration: {
      llmProviders: setting(
        llmOn.length ? llmOn.join(", ") : "none",
        "OPENROUTER_API_KEY, ANTHROPIC_API_KEY",
        llmOn.length
          ? "transcripts reach these providers (the other declared ones receive nothing)"
          : "no LLM key is set: every answer is made inside the TEE by the local composer, nothing leaves",
      ),
      analytics: setting(
        analyticsOn,
        "FIRESTORE_SERVICE_ACCOUNT, FIRESTORE_EMULATOR_HOST",
        analyticsOn
          ? "each generate-prompt record goes to Firestore"
          : "no analytics: no record is written anywhere",
      ),
      stateStore: setting(
        store.kind,
        store.host ? "AUDITOR_STATE_URL" : null,
        store.host
          ? "sealed state in a shared store (ciphertext and hashed names only)"
          : "sealed state in this instance's data dir",
      ),
      sessionCreation: setting(
        settings.sessionCreationNeedsKey ? "api-key" : "open",
        "AUDITOR_API_KEYS",
        settings.sessionCreationNeedsKey
          ? "POST /sessions needs Authorization: Bearer <API key>"
          : "anyone may start a session",
      ),
      demoTools: setting(
        settings.demoTools,
        "AUDITOR_DEMO_TOOLS",
        settings.demoTools
          ? "sessions may call the demo tools (get_users, process, process_users, echo)"
          : "no demo tools",
      ),
      extractedRuntimes: setting(
        settings.extractedRuntimes,
        "AUDITOR_RUNTIME_KEYS",
        settings.extractedRuntimes
          ? "scripts run on attached runtimes (holding no secrets); tools run here"
          : "scripts run in this process's sandbox workers",
      ),
      rateLimitPerMinute: setting(
        settings.rateLimitPerMinute,
        "AUDITOR_RATE_LIMIT_PER_MIN",
        "requests per minute per client address on the public API",
      ),
      maxInFlightPerAddress: setting(
        settings.maxInFlightPerAddress,
        "AUDITOR_MAX_IN_FLIGHT_PER_ADDRESS",
        "requests one client address may have in progress",
      ),
      maxSessions: setting(
        settings.maxSessions,
        "AUDITOR_MAX_SESSIONS",
        "sessions running at once",
      ),
      maxSessionsPerCaller: setting(
        settings.maxSessionsPerCaller,
        "AUDITOR_MAX_SESSIONS_PER_CALLER",
        "sessions one caller (API key, else address) may run at once",
      ),
      memoryBudgetMb: setting(
        settings.memoryBudgetMb,
        "AUDITOR_MEMORY_BUDGET_MB",
        "what all sessions together may hold",
      ),
      corsOrigins: setting(
        settings.corsOrigins.join(", ") || "none",
        "AUDITOR_CORS_ORIGINS",
        "browser origins allowed to call the API",
      ),
      logLevel: setting(settings.logLevel, "LOG_LEVEL", `logs contain ${LOGS_CONTAIN}`),
    },
    sessions: {
      endpoints: [
        "POST /sessions",
        "GET /sessions/:id",
        "GET /sessions/:id/stream?fromSeq=N",
        "POST /sessions/:id/cancel",
        "POST /sessions/:id/input",
        "POST /refs/resolve",
      ],
      creation: settings.sessionCreationNeedsKey
        ? "needs Authorization: Bearer <API key>"
        : "open to anyone who can reach the server",
      tools: deps.sessionTools,
      maxima: deps.sessionMaxima,
    },
    sessionIds: {
      rule: DEFINITIONS.sessionIdRule!,
      holderCanSee: SESSION_ID_HOLDER,
    },
    observedEgress: deps.egressLog.hostStats(app),
    egressLog: {
      instanceId: deps.egressLog.instanceId,
      head: deps.egressLog.logHead,
      headDigest: deps.egressLog.headDigest(),
      url: "/egress-log",
      recent: deps.egressLog.list(app).slice(-RECENT_EGRESS_ENTRIES) as unknown as Record<
        string,
        unknown
      >[],
    },
    claims,
    definitions: DEFINITIONS,
    verification: verificationSteps(app, attested),
  };
}

/** Adds a fresh quote over the report's digest and the verifier's nonce. */
export async function bindReport(
  report: Report,
  nonce: string,
  tee: Pick<Tee, "quote">,
): Promise<Report> {
  const reportSha256 = reportDigest(report as unknown as Record<string, unknown>);
  const reportData = reportBindingData(nonce, reportSha256);
  const quote = await tee.quote(reportData);
  return {
    ...report,
    binding: {
      nonce,
      reportSha256,
      reportData: toHex(reportData),
      quote: quote?.quote ?? null,
      eventLog: quote?.eventLog ?? null,
      attested: quote !== null,
    },
  };
}
