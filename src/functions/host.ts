// Runs attested functions: validates input and output with the manifest's zod schemas, runs the
// handler as the egress caller its manifest describes, and turns every failure into a clear
// status and body (never a stack trace).
import { sha256 } from "@noble/hashes/sha2";
import { z } from "zod";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { toHex, utf8 } from "../crypto/encoding.ts";
import { hostOf, originOf, runAsCaller } from "../egress/index.ts";
import { describeIssues, toApiIssues } from "../http/errors.ts";
import type { Logger } from "../log.ts";
import {
  SealedStateError,
  SealedStateFullError,
  StoreUnavailableError,
  type SealedStore,
  type StoreDescription,
  type StoreHealthReport,
} from "../store/index.ts";
import { FunctionFailure, type FunctionDefinition, type RegisteredFunction } from "./define.ts";

export interface EffectiveEgress {
  name: string;
  purpose: string;
  declaredUrl: string;
  url: string;
  host: string;
  /** scheme://host[:port] of `url`: what the policy admits (an override states its own). */
  origin: string;
  /** The environment variable through which the operator replaced the declared URL. */
  overriddenBy: string | null;
}

export interface HostedFunction {
  definition: FunctionDefinition;
  egress: EffectiveEgress[];
  /** JSON Schema of the input (as clients send it) and of the output, made once. */
  inputSchema: unknown;
  outputSchema: unknown;
  sources: { path: string; sha256: string }[];
  /** SHA-256 over the canonical JSON of `sources`. */
  sourceSha256: string;
}

export interface InvokeResult {
  status: number;
  body: unknown;
  /** For a 503: when to try again, in seconds (the route sends it as Retry-After). */
  retryAfterSeconds?: number;
}

/** STATE_RETRY_AFTER_S = 2: a store that is back is found within 2 s (redis-connection.ts). */
const STATE_RETRY_AFTER_S = 2;

export interface HostDeps {
  /** The audited fetch (in the server, the one installed as the global fetch). */
  fetch: typeof fetch;
  store: SealedStore;
  log: Logger;
  /** Secret values by env name; a function sees only those its manifest names. */
  secrets: Record<string, string | undefined>;
  /** Operator URL overrides by env name. */
  overrides: Record<string, string | undefined>;
  stateIdleTtlMs: number;
}

export class FunctionHost {
  private readonly functions = new Map<string, HostedFunction>();

  constructor(registered: RegisteredFunction[], private readonly deps: HostDeps) {
    for (const { definition, sources } of registered) {
      if (this.functions.has(definition.name)) throw new Error(`function ${definition.name} is registered twice`);
      const files = Object.entries(sources).map(([path, text]) => ({ path, sha256: toHex(sha256(utf8(text))) }));
      this.functions.set(definition.name, {
        definition,
        inputSchema: z.toJSONSchema(definition.input, { io: "input" }),
        outputSchema: z.toJSONSchema(definition.output),
        sources: files,
        sourceSha256: toHex(sha256(utf8(canonicalJson(files)))),
        egress: definition.egress.map((e) => {
          const override = e.overrideEnv ? deps.overrides[e.overrideEnv] : undefined;
          const url = override ?? e.url;
          const parsed = new URL(url);
          return { name: e.name, purpose: e.purpose, declaredUrl: e.url, url, host: hostOf(parsed), origin: originOf(parsed), overriddenBy: override ? e.overrideEnv! : null };
        }),
      });
    }
  }

  /** Where the functions' sealed state lives (the report states it). */
  get stateStore(): StoreDescription {
    return this.deps.store.description;
  }

  /** Whether that store answers, as the last call saw it (for the report and a dashboard). */
  get stateHealth(): StoreHealthReport {
    return this.deps.store.health;
  }

  list(app?: string): HostedFunction[] {
    return [...this.functions.values()].filter((f) => app === undefined || f.definition.app === app);
  }

  async invoke(name: string, rawInput: unknown): Promise<InvokeResult> {
    const hosted = this.functions.get(name);
    if (!hosted) return { status: 404, body: { error: "not_found", message: `unknown function "${name}"` } };
    const { definition } = hosted;
    const parsed = definition.input.safeParse(rawInput);
    if (!parsed.success) {
      const issues = toApiIssues(parsed.error);
      return { status: 400, body: { error: "invalid_input", message: describeIssues(issues), issues } };
    }
    const log = this.deps.log.child({ app: definition.app, fn: name });
    const secrets = Object.fromEntries(definition.secrets.map((s) => [s, this.deps.secrets[s]]));
    const caller = {
      app: definition.app,
      fn: name,
      allowedOrigins: new Set(hosted.egress.map((e) => e.origin)),
      secretValues: Object.values(secrets).filter((v): v is string => typeof v === "string" && v !== ""),
    };
    try {
      const result = await runAsCaller(caller, () =>
        definition.handler(parsed.data, {
          fetch: this.deps.fetch,
          secrets,
          upstreams: Object.fromEntries(hosted.egress.map((e) => [e.name, e.url])),
          state: this.deps.store.scope(`app/${definition.app}`),
          stateIdleTtlMs: this.deps.stateIdleTtlMs,
          log,
        }),
      );
      if (result instanceof FunctionFailure) return { status: result.status, body: result.body };
      const output = definition.output.safeParse(result);
      if (!output.success) {
        log.error("function output does not match its schema", { issues: z.treeifyError(output.error) });
        return { status: 500, body: { error: "invalid_output", message: `${name} produced output that does not match its declared schema` } };
      }
      return { status: 200, body: output.data };
    } catch (err) {
      if (err instanceof SealedStateFullError) {
        log.error("sealed state full", { reason: err.message });
        return { status: 507, body: { error: "state_full", message: `${name} cannot save its state: the server's storage is full. Nothing was lost; the operator must free space` } };
      }
      if (err instanceof StoreUnavailableError) {
        log.warn("state store unavailable", { category: err.category });
        return {
          status: 503,
          body: {
            error: "state_unavailable",
            message: `${name} cannot reach its sealed state right now (the state store is unavailable); retry shortly`,
          },
          retryAfterSeconds: STATE_RETRY_AFTER_S,
        };
      }
      if (err instanceof SealedStateError) {
        log.error("sealed state unavailable", { reason: err.message });
        return { status: 500, body: { error: "state_unavailable", message: "this function's sealed state cannot be opened" } };
      }
      log.error("function failed", { errorName: (err as Error)?.name, reason: (err as Error)?.message });
      return { status: 500, body: { error: "function_failed", message: `${name} failed` } };
    }
  }
}
