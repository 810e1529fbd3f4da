// Configuration: environment first, command-line flags override. Parsed once by zod; any bad
// value stops start-up with a message naming the variable and the flag.
import { z } from "zod";

interface OptionSpec {
  env: string;
  /** Secrets have no flag: command lines are visible to every process on the host. */
  flag?: string;
  describe: string;
  schema: z.ZodType;
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().min(1);

/**
 * A URL setting holds no credentials and no query: URL settings are published (the report's
 * egress policy, logs), so `user:password@` or `?key=` in one would publish a secret. Refused
 * at start-up, naming the variable; a secret belongs in its own secret variable.
 */
export function plainUrl(protocol: RegExp, what: string) {
  return z
    .url({ protocol, error: `must be ${what}` })
    .refine((u) => {
      const url = new URL(u);
      return url.username === "" && url.password === "";
    }, "must not carry credentials (user:password@): URL settings are published; use the key's own secret variable")
    .refine(
      (u) => !/[?#]/.test(u),
      "must not carry a query string or fragment (URL settings are published)",
    );
}

const httpUrl = plainUrl(/^https?$/, "an http(s) URL").transform((u) => u.replace(/\/+$/, ""));
/** A socket path, or an http(s) URL under the rules of plainUrl. */
const dstackEndpoint = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    if (!/^https?:\/\//i.test(value)) return;
    const parsed = plainUrl(/^https?$/, "an http(s) URL").safeParse(value);
    for (const issue of parsed.error?.issues ?? [])
      ctx.addIssue({ code: "custom", message: issue.message });
  });

export const OPTIONS = {
  port: {
    env: "PORT",
    flag: "--port",
    describe: "TCP port to listen on; 0 picks a free one (default 8787)",
    schema: port.default(8787),
  },
  host: {
    env: "HOST",
    flag: "--host",
    describe: "address to bind (default 127.0.0.1; the Docker image uses 0.0.0.0)",
    schema: z.string().min(1).default("127.0.0.1"),
  },
  dataDir: {
    env: "AUDITOR_DATA_DIR",
    flag: "--data-dir",
    describe: "directory for sealed state and dev keys (default ./data)",
    schema: z.string().min(1).default("./data"),
  },
  tee: {
    env: "AUDITOR_TEE",
    flag: "--tee",
    describe: "TEE provider: dstack | dev (default: dstack when its socket exists, else dev)",
    schema: z.enum(["dstack", "dev"]).optional(),
  },
  dstackEndpoint: {
    env: "DSTACK_SIMULATOR_ENDPOINT",
    flag: "--dstack-endpoint",
    describe:
      "dstack guest agent: unix socket path or http(s) URL, no credentials or query (default /var/run/dstack.sock)",
    schema: dstackEndpoint.optional(),
  },
  logLevel: {
    env: "LOG_LEVEL",
    flag: "--log-level",
    describe: "debug | info | warn | error (default info)",
    schema: z.enum(["debug", "info", "warn", "error"]).default("info"),
  },
  shutdownGraceMs: {
    env: "AUDITOR_SHUTDOWN_GRACE_MS",
    flag: "--shutdown-grace-ms",
    describe: "how long in-flight requests may run after SIGTERM/SIGINT (default 10000)",
    schema: positiveMs.max(3_600_000).default(10_000),
  },
  corsOrigins: {
    env: "AUDITOR_CORS_ORIGINS",
    flag: "--cors-origins",
    describe:
      'comma list of browser origins allowed to call the API; "*" (any) only with the dev TEE (default: * with dev, none with dstack)',
    schema: z.string().transform(splitList).optional(),
  },
  rateLimitPerMinute: {
    env: "AUDITOR_RATE_LIMIT_PER_MIN",
    flag: "--rate-limit-per-min",
    describe: "requests per minute per client address on public endpoints (default 120)",
    schema: z.coerce.number().int().min(1).max(1_000_000).default(120),
  },
  maxInFlightPerAddress: {
    env: "AUDITOR_MAX_IN_FLIGHT_PER_ADDRESS",
    flag: "--max-in-flight-per-address",
    describe:
      "requests one client address may have in progress at once, streams included; more get 429 with Retry-After (default 128)",
    schema: z.coerce.number().int().min(1).max(1_000_000).default(128),
  },
  stateIdleTtlMs: {
    env: "AUDITOR_STATE_IDLE_TTL_MS",
    flag: "--state-idle-ttl-ms",
    describe: "idle function sessions expire after this long (default 86400000, one day)",
    schema: positiveMs.max(365 * 86_400_000).default(86_400_000),
  },
  stateMaxBytes: {
    env: "AUDITOR_STATE_MAX_BYTES",
    flag: "--state-max-bytes",
    describe:
      "cap on the sealed state database; writes beyond it get 507 state_full, as on a full disk (default: no cap)",
    schema: z.coerce.number().int().min(65_536).optional(),
  },
  stateUrl: {
    env: "AUDITOR_STATE_URL",
    describe:
      "secret (may hold credentials): a shared store for sealed state, postgres://… or redis://…, so several instances share sessions (default: bun:sqlite in the data dir)",
    schema: z
      .string()
      .regex(
        /^(postgres|postgresql|redis|rediss):\/\/\S+$/,
        "must be a postgres:// or redis:// URL",
      )
      .optional(),
  },
  instanceUrl: {
    env: "AUDITOR_INSTANCE_URL",
    flag: "--instance-url",
    describe:
      "with AUDITOR_STATE_URL: the http(s) URL at which the other instances reach this one (its own, not a load balancer's), no credentials or query; {instanceId} in it is replaced by the dstack instance id, so one compose file serves every instance (e.g. https://{instanceId}-8787.<gateway domain>); sessions started here are registered under it, so requests reaching another instance are forwarded here (default http://HOST:PORT, unless HOST is 0.0.0.0 or ::)",
    schema: httpUrl.optional(),
  },
  openrouterApiKey: {
    env: "OPENROUTER_API_KEY",
    describe: "secret: OpenRouter key for generate-prompt (Cerebras)",
    schema: z.string().min(1).optional(),
  },
  anthropicApiKey: {
    env: "ANTHROPIC_API_KEY",
    describe: "secret: Anthropic key for the Claude fallback",
    schema: z.string().min(1).optional(),
  },
  openrouterBaseUrl: {
    env: "OPENROUTER_BASE_URL",
    flag: "--openrouter-base-url",
    describe:
      "operator override of https://openrouter.ai/api/v1, no credentials or query (joins the egress policy; the report says so)",
    schema: httpUrl.optional(),
  },
  anthropicBaseUrl: {
    env: "ANTHROPIC_BASE_URL",
    flag: "--anthropic-base-url",
    describe:
      "operator override of https://api.anthropic.com, no credentials or query (joins the egress policy; the report says so)",
    schema: httpUrl.optional(),
  },
  firestoreServiceAccount: {
    env: "FIRESTORE_SERVICE_ACCOUNT",
    describe:
      "secret: a Google service account JSON; with it, generate-prompt also writes each prompt record to Firestore (analytics)",
    schema: z
      .string()
      .min(1)
      .refine((v) => {
        try {
          const a = JSON.parse(v);
          return (
            typeof a.client_email === "string" &&
            typeof a.private_key === "string" &&
            typeof a.project_id === "string"
          );
        } catch {
          return false;
        }
      }, "must be a service account JSON with project_id, client_email and private_key")
      .optional(),
  },
  firestoreEmulatorHost: {
    env: "FIRESTORE_EMULATOR_HOST",
    flag: "--firestore-emulator-host",
    describe:
      "host:port of a Firestore emulator: analytics go there, unauthenticated (joins the egress policy; the report says so)",
    schema: z
      .string()
      .regex(/^[\w.-]+:\d{1,5}$/, "must be host:port (no credentials, path or query)")
      .transform((v) => `http://${v}`)
      .optional(),
  },
  apiKeys: {
    env: "AUDITOR_API_KEYS",
    describe:
      "secret: comma list of keys allowed to create sessions (Authorization: Bearer <key>); unset leaves creation open",
    schema: z.string().transform(splitList).default([]),
  },
  operatorKeys: {
    env: "AUDITOR_OPERATOR_KEYS",
    describe:
      "secret: comma list of operator keys (each at least 24 characters) for GET /metrics and the dashboard's operational data (Authorization: Bearer <key>); unset, those answer 403",
    schema: z
      .string()
      .transform(splitList)
      .pipe(z.array(z.string().min(24, "each key must be at least 24 characters")))
      .default([]),
  },
  demoTools: {
    env: "AUDITOR_DEMO_TOOLS",
    flag: "--demo-tools",
    describe:
      "1 exposes the demo tools (get_users, process, process_users, echo) to sessions; default on with the dev TEE only",
    schema: z
      .enum(["0", "1"])
      .transform((v) => v === "1")
      .optional(),
  },
  maxSessions: {
    env: "AUDITOR_MAX_SESSIONS",
    flag: "--max-sessions",
    describe: "sessions running at once before POST /sessions answers 503 (default 2000)",
    schema: z.coerce.number().int().min(1).max(1_000_000).default(2_000),
  },
  maxSessionsPerCaller: {
    env: "AUDITOR_MAX_SESSIONS_PER_CALLER",
    flag: "--max-sessions-per-caller",
    describe:
      "sessions one caller (API key, else client address) may have running at once; then 429 (default 100)",
    schema: z.coerce.number().int().min(1).max(1_000_000).default(100),
  },
  memoryBudgetMb: {
    env: "AUDITOR_MEMORY_BUDGET_MB",
    flag: "--memory-budget-mb",
    describe:
      "MiB that all sessions together may hold: sandbox memory plus reference sidecars; a session that would exceed it fails with memory_budget, new ones get 503 (default 1024)",
    schema: z.coerce.number().int().min(64).max(1_048_576).default(1024),
  },
  maxWorkers: {
    env: "AUDITOR_MAX_WORKERS",
    flag: "--max-workers",
    describe:
      "sandbox worker threads at most; busy scripts get their own thread while there is room, so they never delay other sessions (default 8 per core)",
    schema: z.coerce.number().int().min(1).max(256).optional(),
  },
  runtimeKeys: {
    env: "AUDITOR_RUNTIME_KEYS",
    flag: "--runtime-keys",
    describe:
      "comma list of extracted runtimes' keys (or kids) allowed to attach; set, sessions run on those runtimes (auditor runtime --connect …) instead of in this process",
    schema: z.string().transform(splitList).default([]),
  },
  sessionMemoryMb: {
    env: "AUDITOR_SESSION_MEMORY_MB",
    flag: "--session-memory-mb",
    describe: "memory a session's sandbox may use; clients may ask for less (default 32)",
    schema: z.coerce.number().int().min(1).max(1024).default(32),
  },
  sessionTtlMs: {
    env: "AUDITOR_SESSION_TTL_MS",
    flag: "--session-ttl-ms",
    describe: "longest a session may live; clients may ask for less (default 600000)",
    schema: positiveMs.max(86_400_000).default(600_000),
  },
  heartbeatMs: {
    env: "AUDITOR_HEARTBEAT_MS",
    flag: "--heartbeat-ms",
    describe: "a heartbeat event after this long without other events (default 15000)",
    schema: positiveMs.min(10).max(3_600_000).default(15_000),
  },
  disconnectGraceMs: {
    env: "AUDITOR_DISCONNECT_GRACE_MS",
    flag: "--disconnect-grace-ms",
    describe:
      "a session whose client disconnected is cancelled unless it resumes within this time (default 30000)",
    schema: positiveMs.max(3_600_000).default(30_000),
  },
} satisfies Record<string, OptionSpec>;

/** The `{instanceId}` placeholder of AUDITOR_INSTANCE_URL. */
const INSTANCE_ID_PLACEHOLDER = "{instanceId}";

/**
 * AUDITOR_INSTANCE_URL for this instance: every instance of a dstack app runs the same (measured)
 * compose file, so the URL may name the instance by `{instanceId}`, the id the guest agent gives.
 */
export function instanceUrlFor(template: string, instanceId: string | null): string {
  if (!template.includes(INSTANCE_ID_PLACEHOLDER)) return template;
  if (!instanceId || !/^[A-Za-z0-9-]{1,63}$/.test(instanceId)) {
    throw new ConfigError(
      `AUDITOR_INSTANCE_URL: ${INSTANCE_ID_PLACEHOLDER} needs an instance id from the dstack guest agent, and this TEE gives ${instanceId ? "one that is not a DNS label" : "none"}`,
    );
  }
  return template.replaceAll(INSTANCE_ID_PLACEHOLDER, instanceId);
}

/** Where peers reach an instance by default: its own address, unless it listens on every one. */
export function defaultInstanceUrl(host: string, port: number): string | undefined {
  if (["0.0.0.0", "::", "[::]"].includes(host)) return undefined;
  return `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

type Options = typeof OPTIONS;
export type Config = { [K in keyof Options]: z.output<Options[K]["schema"]> };

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Flags that take no value and are handled before configuration is read. */
export const COMMAND_FLAGS = {
  "--help": "print this help and exit",
  "--version": "print the version and this executable's sha256, then exit",
} as const;

export function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Map(
    (Object.values(OPTIONS) as OptionSpec[]).filter((o) => o.flag).map((o) => [o.flag!, o]),
  );
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!known.has(name)) throw new ConfigError(`unknown argument "${arg}" (see --help)`);
    const value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

export function loadConfig(
  env: Record<string, string | undefined>,
  argv: readonly string[] = [],
): Config {
  const flags = parseFlags(argv);
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(OPTIONS) as [keyof Options, OptionSpec][]) {
    const fromFlag = spec.flag ? flags.get(spec.flag) : undefined;
    const raw = fromFlag ?? emptyToUndefined(env[spec.env]);
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      config[key] = parsed.data;
    } else {
      const source = fromFlag !== undefined ? spec.flag! : spec.env;
      const reason = parsed.error.issues.map((issue) => issue.message).join("; ");
      // Never echo a secret's value, even a malformed one; nor credentials or a query in a URL.
      const shown = spec.flag ? ` (got ${JSON.stringify(redacted(String(raw)))})` : "";
      problems.push(`${source}: ${reason}${shown}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join(", ")}`);
  return config as Config;
}

/** A value as it may be echoed: userinfo and anything from a `?` or `#` on replaced. */
export function redacted(value: string): string {
  return value
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#\s]*@/i, "$1***@")
    .replace(/[?#][\s\S]*$/, "?***");
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

export function helpText(version: string): string {
  const lines = [
    `auditor ${version}: attested functions, reports and AgentScript sessions from a TEE`,
    "",
    "Usage: auditor [flags]            serve",
    "       auditor verify <url> [...]   check a running Auditor from the outside (auditor verify --help)",
    "       auditor runtime --connect <url> [...]   run sessions for a middleware as an extracted runtime (auditor runtime --help)",
    "",
    "Flags (each overrides its environment variable; secrets are read from the environment only):",
  ];
  const options = Object.values(OPTIONS) as OptionSpec[];
  const label = (o: OptionSpec) => (o.flag ? `${o.flag}, ${o.env}` : o.env);
  const width = Math.max(...options.map((o) => label(o).length));
  for (const o of options) lines.push(`  ${label(o).padEnd(width)}  ${o.describe}`);
  for (const [flag, describe] of Object.entries(COMMAND_FLAGS))
    lines.push(`  ${flag.padEnd(width)}  ${describe}`);
  return lines.join("\n");
}
