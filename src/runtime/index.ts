// The runtime, for the rest of the server: runAgentScript and its contract, the tool broker,
// and the runners that do the work elsewhere (a worker pool, extracted runtimes). Modules inside
// src/runtime import each other directly, never this index (the worker loads only what it runs).
export { runAgentScript, toolHandlerOf, type RunOptions, type Runner } from "./run.ts";
export { ToolRegistry, defineTool, ToolCallError, type ToolDefinition } from "./broker.ts";
export { DEFAULT_LIMITS, type Limits } from "./limits.ts";
export {
  emptyStats,
  type RunErrorCode,
  type RunEvent,
  type RunResult,
  type RunStats,
} from "./protocol.ts";
export type { SandboxHooks, ToolHandler } from "./sandbox.ts";
export { validateAgentScript, AgentScriptValidationError } from "./validate.ts";
export { MemoryBudget } from "./memory-budget.ts";
export { RuntimePool } from "./pool.ts";
export { RemoteRuntimes } from "./remote/runtimes.ts";
export { SecureChannel, type Wire } from "./remote/secure-channel.ts";
export { runRuntime } from "./remote/runtime-main.ts";
