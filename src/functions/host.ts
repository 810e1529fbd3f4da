// Runs attested functions: validates input and output with the manifest's zod schemas, runs the
// handler as the egress caller its manifest describes, and turns every failure into a clear
// status and body (never a stack trace).
import { z } from "zod";
import { canonicalJson } from "../../sdk/crypto/canonical-json.ts";
import { hostOf, originOf, runAsCaller, type EgressEntry } from "../egress/index.ts";
import { describeIssues, fieldIssues } from "../validation.ts";
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
import type { FailureKind, InvokeOutcome } from "./outcome.ts";

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
  /** Whether the function uses this upstream with the configuration it runs with, and why. */
  enabled: boolean;
  enabledBecause: string;
}

export interface HostedFunction {
  definition: FunctionDefinition;
  egress: EffectiveEgress[];
  /** JSON Schema of the input (as clients send it) and of the output, made once, on first use. */
  inputSchema: unknown;
  outputSchema: unknown;
  sources: { path: string; sha256: string }[];
  /** SHA-256 over the canonical JSON of `sources`. */
  sourceSha256: string;
}

/** Who invoked a function: a plain or sealed POST /invoke, or a session's callTool. */
export type InvokeMode = "plain" | "sealed" | "session";

/** Told of every invocation of a registered function (the metrics and the dashboard). */
export interface InvocationObserver {
  invoked(
    app: string,
    call: {
      fn: string;
      outcome: "ok" | FailureKind;
      provider: string;
      mode: InvokeMode;
      durationMs: number;
    },
  ): void;
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
  observer?: InvocationObserver;
}

/**
 * SHA-256 (hex) of a text's UTF-8, natively: start-up hashes every function's source files, and
 * the JavaScript SHA-256 took tens of milliseconds of it.
 */
const sha256Hex = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

export class FunctionHost {
  private readonly functions = new Map<string, HostedFunction>();

  constructor(
    registered: RegisteredFunction[],
    private readonly deps: HostDeps,
  ) {
    for (const { definition, sources } of registered) {
      if (this.functions.has(definition.name))
        throw new Error(`function ${definition.name} is registered twice`);
      const files = Object.entries(sources).map(([path, text]) => ({
        path,
        sha256: sha256Hex(text),
      }));
      // The JSON Schemas are made when first read (by /functions or a report), not at start-up.
      let inputSchema: unknown;
      let outputSchema: unknown;
      this.functions.set(definition.name, {
        definition,
        get inputSchema() {
          return (inputSchema ??= z.toJSONSchema(definition.input, { io: "input" }));
        },
        get outputSchema() {
          return (outputSchema ??= z.toJSONSchema(definition.output));
        },
        sources: files,
        sourceSha256: sha256Hex(canonicalJson(files)),
        egress: definition.egress.map((e) => {
          const override = e.overrideEnv ? deps.overrides[e.overrideEnv] : undefined;
          const url = override ?? e.url;
          const parsed = new URL(url);
          const set = (e.enabledWhen ?? []).filter(
            (name) => deps.secrets[name] || deps.overrides[name],
          );
          const enabled = !e.enabledWhen || set.length > 0;
          const enabledBecause = !e.enabledWhen
            ? "always used by this function"
            : enabled
              ? `${set.join(" and ")} ${set.length > 1 ? "are" : "is"} set`
              : `${e.enabledWhen.join(" or ")} ${e.enabledWhen.length > 1 ? "are" : "is"} not set: nothing is sent there`;
          return {
            name: e.name,
            purpose: e.purpose,
            declaredUrl: e.url,
            url,
            host: hostOf(parsed),
            origin: originOf(parsed),
            overriddenBy: override ? e.overrideEnv! : null,
            enabled,
            enabledBecause,
          };
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
    return [...this.functions.values()].filter(
      (f) => app === undefined || f.definition.app === app,
    );
  }

  /** The app a function belongs to (receipts name it), or undefined for an unknown function. */
  appOf(name: string): string | undefined {
    return this.functions.get(name)?.definition.app;
  }

  /** Runs a function; `caused` receives every egress log entry the invocation causes. */
  async invoke(
    name: string,
    rawInput: unknown,
    options: { caused?: EgressEntry[]; mode?: InvokeMode } = {},
  ): Promise<InvokeOutcome> {
    const hosted = this.functions.get(name);
    if (!hosted)
      return {
        ok: false,
        kind: "unknown_function",
        error: { error: "not_found", message: `unknown function "${name}"` },
      };
    const started = performance.now();
    const outcome = await this.run(hosted, rawInput, options.caused);
    const { provider_used: provider } = (outcome.ok ? outcome.output : {}) as {
      provider_used?: unknown;
    };
    this.deps.observer?.invoked(hosted.definition.app, {
      fn: name,
      outcome: outcome.ok ? "ok" : outcome.kind,
      provider: typeof provider === "string" ? provider : "none",
      mode: options.mode ?? "plain",
      durationMs: performance.now() - started,
    });
    return outcome;
  }

  private async run(
    hosted: HostedFunction,
    rawInput: unknown,
    caused: EgressEntry[] | undefined,
  ): Promise<InvokeOutcome> {
    const { definition } = hosted;
    const name = definition.name;
    const parsed = definition.input.safeParse(rawInput);
    if (!parsed.success) {
      const issues = fieldIssues(parsed.error);
      return {
        ok: false,
        kind: "invalid_input",
        error: { error: "invalid_input", message: describeIssues(issues), issues },
      };
    }
    const log = this.deps.log.child({ app: definition.app, fn: name });
    const secrets = Object.fromEntries(definition.secrets.map((s) => [s, this.deps.secrets[s]]));
    const caller = {
      app: definition.app,
      fn: name,
      allowedOrigins: new Set(hosted.egress.map((e) => e.origin)),
      secretValues: Object.values(secrets).filter(
        (v): v is string => typeof v === "string" && v !== "",
      ),
      ...(caused ? { caused } : {}),
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
      if (result instanceof FunctionFailure)
        return { ok: false, kind: "declined", error: result.body, declinedStatus: result.status };
      const output = definition.output.safeParse(result);
      if (!output.success) {
        log.error("function output does not match its schema", {
          issues: z.treeifyError(output.error),
        });
        return {
          ok: false,
          kind: "invalid_output",
          error: {
            error: "invalid_output",
            message: `${name} produced output that does not match its declared schema`,
          },
        };
      }
      return { ok: true, output: output.data };
    } catch (err) {
      if (err instanceof SealedStateFullError) {
        log.error("sealed state full", { reason: err.message });
        return {
          ok: false,
          kind: "state_full",
          error: {
            error: "state_full",
            message: `${name} cannot save its state: the server's storage is full. Nothing was lost; the operator must free space`,
          },
        };
      }
      if (err instanceof StoreUnavailableError) {
        log.warn("state store unavailable", { category: err.category });
        return {
          ok: false,
          kind: "state_unreachable",
          error: {
            error: "state_unavailable",
            message: `${name} cannot reach its sealed state right now (the state store is unavailable); retry shortly`,
          },
          retryAfterSeconds: STATE_RETRY_AFTER_S,
        };
      }
      if (err instanceof SealedStateError) {
        log.error("sealed state unavailable", { reason: err.message });
        return {
          ok: false,
          kind: "state_unreadable",
          error: {
            error: "state_unavailable",
            message: "this function's sealed state cannot be opened",
          },
        };
      }
      log.error("function failed", {
        errorName: (err as Error)?.name,
        reason: (err as Error)?.message,
      });
      return {
        ok: false,
        kind: "crashed",
        error: { error: "function_failed", message: `${name} failed` },
      };
    }
  }
}
