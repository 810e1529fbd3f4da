// runAgentScript: validate, instrument, then run inside a fresh, locked-down QuickJS
// (WebAssembly) runtime with a memory limit and CPU, wall-clock and cancellation enforced by the
// interrupt handler (src/runtime/sandbox.ts). Only two bridges reach the host: callTool (to the
// broker or a handler) and console (to the run's events). Values cross the boundary as JSON
// text only, so no host object is ever reachable from the script.
import { ToolCallError, type ToolRegistry } from "./broker.ts";
import { DEFAULT_LIMITS, LimitsSchema, type Limits } from "./limits.ts";
import { emptyStats, type RunEvent, type RunResult } from "./protocol.ts";
import { runInSandbox, type SandboxHooks, type ToolHandler } from "./sandbox.ts";
import { instrument } from "./instrument.ts";
import { REF_CALL, REF_CHECK } from "./ref-prelude.ts";
import { AgentScriptValidationError, validateAgentScript } from "./validate.ts";

export interface RunOptions {
  toolHandler?: ToolHandler;
  /** A registry to answer tool calls from (used when there is no toolHandler). */
  tools?: ToolRegistry;
  limits?: Partial<Limits>;
  onEvent?: (event: RunEvent) => void;
  /** Aborting ends the run with code `cancelled`. */
  signal?: AbortSignal;
  /** Names the run for runners that route or multiplex by session (pools, extracted runtimes). */
  sessionId?: string;
  /** How the thread hosting the run watches it (pool workers). */
  hooks?: SandboxHooks;
}

/** The same contract as runAgentScript, whoever runs it (in process, a worker pool, a remote runtime). */
export type Runner = (code: string, options: RunOptions) => Promise<RunResult>;

/** The tool handler a run uses: the caller's, a registry's, or one that knows no tools. */
export function toolHandlerOf(
  options: Pick<RunOptions, "toolHandler" | "tools" | "signal">,
): ToolHandler {
  if (options.toolHandler) return options.toolHandler;
  const { tools, signal } = options;
  if (tools) return (name, args) => tools.call(name, args, signal);
  return async (name) => {
    throw new ToolCallError(`unknown tool "${name}"`, "unknown_tool");
  };
}

export async function runAgentScript(code: string, options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const early = (code: "invalid_limits" | "validation_error", message: string): RunResult => ({
    ok: false,
    error: { code, message },
    stats: emptyStats(Math.round((performance.now() - started) * 1000) / 1000),
  });
  const limits = LimitsSchema.safeParse({ ...DEFAULT_LIMITS, ...options.limits });
  if (!limits.success) {
    return early(
      "invalid_limits",
      limits.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    );
  }
  let source: string;
  try {
    const validated = validateAgentScript(code);
    // The wrapper's first line gains the runtime's hooks as parameters (closures, not globals);
    // the script's own lines keep their numbers.
    source = `((${REF_CALL}, ${REF_CHECK}) => ${instrument(validated.wrappedSource, validated.program).source})`;
  } catch (err) {
    if (err instanceof AgentScriptValidationError) return early("validation_error", err.message);
    throw err;
  }
  return runInSandbox({
    source,
    limits: limits.data,
    toolHandler: toolHandlerOf(options),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
}
