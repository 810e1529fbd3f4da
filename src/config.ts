// Configuration: environment first, command-line flags override. Parsed once by zod; any bad
// value stops start-up with a message naming the variable and the flag.
import { z } from "zod";

interface OptionSpec {
  env: string;
  flag: string;
  describe: string;
  schema: z.ZodType;
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().min(1).max(3_600_000);

export const OPTIONS = {
  port: { env: "PORT", flag: "--port", describe: "TCP port to listen on; 0 picks a free one (default 8787)", schema: port.default(8787) },
  host: { env: "HOST", flag: "--host", describe: "address to bind (default 127.0.0.1; the Docker image uses 0.0.0.0)", schema: z.string().min(1).default("127.0.0.1") },
  dataDir: { env: "AUDITOR_DATA_DIR", flag: "--data-dir", describe: "directory for sealed state and dev keys (default ./data)", schema: z.string().min(1).default("./data") },
  tee: { env: "AUDITOR_TEE", flag: "--tee", describe: "TEE provider: dstack | dev (default: dstack when its socket exists, else dev)", schema: z.enum(["dstack", "dev"]).optional() },
  dstackEndpoint: { env: "DSTACK_SIMULATOR_ENDPOINT", flag: "--dstack-endpoint", describe: "dstack guest agent: unix socket path or http(s) URL (default /var/run/dstack.sock)", schema: z.string().min(1).optional() },
  logLevel: { env: "LOG_LEVEL", flag: "--log-level", describe: "debug | info | warn | error (default info)", schema: z.enum(["debug", "info", "warn", "error"]).default("info") },
  shutdownGraceMs: { env: "AUDITOR_SHUTDOWN_GRACE_MS", flag: "--shutdown-grace-ms", describe: "how long in-flight requests may run after SIGTERM/SIGINT (default 10000)", schema: positiveMs.default(10_000) },
} satisfies Record<string, OptionSpec>;

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
  const known = new Map(Object.values(OPTIONS).map((o) => [o.flag, o]));
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!known.has(name)) throw new ConfigError(`unknown argument "${arg}" (see --help)`);
    let value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

export function loadConfig(env: Record<string, string | undefined>, argv: readonly string[] = []): Config {
  const flags = parseFlags(argv);
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(OPTIONS) as [keyof Options, OptionSpec][]) {
    const fromFlag = flags.get(spec.flag);
    const raw = fromFlag ?? emptyToUndefined(env[spec.env]);
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      config[key] = parsed.data;
    } else {
      const source = fromFlag !== undefined ? spec.flag : spec.env;
      const reason = parsed.error.issues.map((issue) => issue.message).join("; ");
      problems.push(`${source}: ${reason} (got ${JSON.stringify(raw)})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join(", ")}`);
  return config as Config;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

export function helpText(version: string): string {
  const lines = [
    `auditor ${version}: attested functions, reports and AgentScript sessions from a TEE`,
    "",
    "Usage: auditor [flags]",
    "",
    "Flags (each overrides its environment variable):",
  ];
  const width = Math.max(...Object.values(OPTIONS).map((o) => o.flag.length + o.env.length + 3));
  for (const o of Object.values(OPTIONS) as OptionSpec[]) {
    lines.push(`  ${`${o.flag}, ${o.env}`.padEnd(width)}  ${o.describe}`);
  }
  for (const [flag, describe] of Object.entries(COMMAND_FLAGS)) lines.push(`  ${flag.padEnd(width)}  ${describe}`);
  return lines.join("\n");
}
