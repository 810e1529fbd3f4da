// runAgentScript: validate, then run inside a fresh QuickJS (WebAssembly) runtime with a memory
// limit, a CPU deadline enforced by the interrupt handler, and only two bridges to the host:
// callTool (to the broker or a handler) and console (to the run's stdout). Values cross the
// boundary as JSON text only, so no host object is ever reachable from the script.
import { newQuickJSWASMModuleFromVariant, type QuickJSDeferredPromise, type QuickJSHandle, type QuickJSWASMModule } from "quickjs-emscripten-core";
import variant from "@jitl/quickjs-singlefile-mjs-release-sync";
import { ToolCallError, type ToolRegistry } from "./broker.ts";
import { DEFAULT_LIMITS, LimitsSchema, type Limits, type RunErrorCode } from "./limits.ts";
import { AgentScriptValidationError, validateAgentScript } from "./validate.ts";
import { instrument } from "./instrument.ts";
import { REF_CALL } from "./ref-prelude.ts";
import { SandboxRefs } from "./sandbox-refs.ts";

export { ToolRegistry, defineTool, ToolCallError, type ToolDefinition } from "./broker.ts";
export { DEFAULT_LIMITS, type Limits, type RunErrorCode } from "./limits.ts";
export { validateAgentScript, AgentScriptValidationError } from "./validate.ts";

export type RunEvent =
  | { type: "stdout"; text: string }
  | { type: "log"; level: "warn" | "error"; text: string }
  | { type: "tool_call"; callId: string; toolName: string; args: unknown }
  /** The tool's answer (a value or a ToolError) reached the script. */
  | { type: "tool_result_applied"; callId: string };

export interface RunStats {
  durationMs: number;
  toolCallCount: number;
  stdoutBytes: number;
  /** Bytes of tool results that entered the sandbox (references cost only their token). */
  sandboxBytesIn: number;
}

export type RunResult =
  | { ok: true; value: unknown; stats: RunStats }
  | { ok: false; error: { code: RunErrorCode; message: string }; stats: RunStats };

/**
 * Answers one tool call; `callId` is the id the run's `tool_call` event carries. With `byRef`
 * (the auto-ref pass proved the script never reads the result) the answer should be a ref token.
 */
export type ToolHandler = (name: string, args: unknown, callId: string, options: { byRef: boolean }) => Promise<unknown>;

export interface RunOptions {
  toolHandler?: ToolHandler;
  tools?: ToolRegistry;
  limits?: Partial<Limits>;
  onEvent?: (event: RunEvent) => void;
  /** Aborting ends the run with code `cancelled`. */
  signal?: AbortSignal;
  /** For runners that route by session (extracted runtimes); runAgentScript ignores it. */
  sessionId?: string;
}

let quickjs: Promise<QuickJSWASMModule> | undefined;
const loadQuickJS = () => (quickjs ??= newQuickJSWASMModuleFromVariant(variant));

/** Set by a bridge callback to end the run: the interrupt handler then stops QuickJS. */
interface RunAbort {
  code: RunErrorCode;
  message: string;
}

export async function runAgentScript(code: string, options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const stats: RunStats = { durationMs: 0, toolCallCount: 0, stdoutBytes: 0, sandboxBytesIn: 0 };
  const finish = (result: { ok: true; value: unknown } | { ok: false; error: { code: RunErrorCode; message: string } }): RunResult => {
    stats.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    return { ...result, stats } as RunResult;
  };
  const limitsParsed = LimitsSchema.safeParse({ ...DEFAULT_LIMITS, ...options.limits });
  if (!limitsParsed.success) {
    return finish({ ok: false, error: { code: "invalid_limits", message: limitsParsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") } });
  }
  const limits = limitsParsed.data;
  let wrappedSource: string;
  try {
    const validated = validateAgentScript(code);
    wrappedSource = instrument(validated.wrappedSource, validated.program).source;
  } catch (err) {
    if (err instanceof AgentScriptValidationError) return finish({ ok: false, error: { code: "validation_error", message: err.message } });
    throw err;
  }
  const callTool: ToolHandler = options.tools
    ? (name, args) => options.tools!.call(name, args, options.signal)
    : options.toolHandler ?? (async (name) => { throw new ToolCallError(`unknown tool "${name}"`, "unknown_tool"); });

  const module = await loadQuickJS();
  const runtime = module.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(512 * 1024);
  let cpuSpentMs = 0;
  let sliceStart = 0;
  let inSlice = false;
  let abort: RunAbort | undefined;
  runtime.setInterruptHandler(() => abort !== undefined || (inSlice && cpuSpentMs + (performance.now() - sliceStart) > limits.cpuMs));
  const vm = runtime.newContext();

  // Every entry into QuickJS is a CPU slice; the interrupt handler sees the running total.
  const slice = <T>(fn: () => T): T => {
    if (inSlice) return fn(); // a host callback re-entering QuickJS: the outer slice counts it
    sliceStart = performance.now();
    inSlice = true;
    try {
      return fn();
    } finally {
      inSlice = false;
      cpuSpentMs += performance.now() - sliceStart;
    }
  };

  let settle!: (value: RunResult) => void;
  const done = new Promise<RunResult>((resolve) => (settle = resolve));
  let finished = false;
  const fail = (code: RunErrorCode, message: string) => {
    if (finished) return;
    finished = true;
    settle(finish({ ok: false, error: { code, message } }));
  };

  // Values cross as JSON text; ref tokens become opaque refs inside (see sandbox-refs.ts).
  const refs = new SandboxRefs(vm, slice, (what) => {
    abort ??= { code: "ref_access", message: `the script tried to ${what} a reference; refs can only be passed to callTool or returned` };
  });
  const toSandbox = (value: unknown): QuickJSHandle => {
    const text = JSON.stringify(value === undefined ? null : value);
    stats.sandboxBytesIn += Buffer.byteLength(text);
    return refs.toSandbox(text);
  };
  let mainPromise: QuickJSHandle | undefined;
  const pump = () => {
    if (finished) return;
    const result = slice(() => runtime.executePendingJobs());
    if (result.error) {
      const error = vm.dump(result.error);
      result.error.dispose();
      return classifyAndFail(error);
    }
    settleIfDone();
  };
  // Polls the script's promise instead of vm.resolvePromise, which would leave handles alive
  // inside QuickJS when a run ends early (timeout, limits) and break the runtime's teardown.
  const settleIfDone = () => {
    if (finished || !mainPromise) return;
    const state = vm.getPromiseState(mainPromise);
    if (state.type === "pending") return;
    if (state.type === "rejected") {
      const error = vm.dump(state.error);
      state.error.dispose();
      return classifyAndFail(error);
    }
    const returnedUndefined = vm.typeof(state.value) === "undefined";
    const encoded = refs.fromSandbox(state.value, "encode");
    state.value.dispose();
    if (abort) return fail(abort.code, abort.message);
    if (!encoded.ok || (encoded.text === undefined && !returnedUndefined)) return fail("output_not_json", "the script returned a value that is not JSON");
    const text = encoded.text;
    if (text !== undefined && Buffer.byteLength(text) > limits.maxOutputBytes) {
      return fail("output_limit", `the script returned more than ${limits.maxOutputBytes} bytes`);
    }
    finished = true;
    settle(finish({ ok: true, value: text === undefined ? undefined : JSON.parse(text) }));
  };
  const classifyAndFail = (error: unknown) => {
    if (abort) return fail(abort.code, abort.message);
    const e = error as { name?: string; message?: string } | undefined;
    const message = String(e?.message ?? error);
    if (e?.name === "InternalError" && message.includes("interrupted")) return fail("cpu_limit", `the script used more than ${limits.cpuMs} ms of CPU`);
    if (e?.name === "InternalError" && message.includes("stack overflow")) return fail("memory_limit", "the script overflowed its stack");
    if (e?.name === "InternalError" && message.includes("string too long")) return fail("memory_limit", "the script built a string longer than the sandbox allows");
    if (message.includes("out of memory")) return fail("memory_limit", `the script used more than ${limits.memoryBytes} bytes of memory`);
    return fail("script_error", `${e?.name ?? "Error"}: ${message}`);
  };

  // console: log/info → stdout, warn/error → log events.
  const consoleObject = vm.newObject();
  const writer = (kind: "stdout" | "warn" | "error") =>
    vm.newFunction(kind, (...args) => {
      const parts: string[] = [];
      for (const a of args) {
        if (vm.typeof(a) === "string") {
          parts.push(vm.getString(a));
          continue;
        }
        const logged = refs.fromSandbox(a, "forLog");
        if (abort) throw new Error("aborted");
        parts.push(logged.ok ? (logged.text ?? String(vm.dump(a))) : "[unprintable]");
      }
      const text = parts.join(" ") + "\n";
      stats.stdoutBytes += Buffer.byteLength(text);
      if (stats.stdoutBytes > limits.maxStdoutBytes) {
        abort ??= { code: "stdout_limit", message: `the script wrote more than ${limits.maxStdoutBytes} bytes to the console` };
        return;
      }
      options.onEvent?.(kind === "stdout" ? { type: "stdout", text } : { type: "log", level: kind, text });
    });
  for (const [name, kind] of [["log", "stdout"], ["info", "stdout"], ["warn", "warn"], ["error", "error"]] as const) {
    const fn = writer(kind);
    vm.setProp(consoleObject, name, fn);
    fn.dispose();
  }
  vm.setProp(vm.global, "console", consoleObject);
  consoleObject.dispose();

  let inFlight = 0;
  const pending = new Set<QuickJSDeferredPromise>();
  const bridge = (byRef: boolean) => vm.newFunction("callTool", (nameHandle, argsHandle) => {
    const name = vm.typeof(nameHandle) === "string" ? vm.getString(nameHandle) : undefined;
    const deferred = vm.newPromise();
    if (name === undefined) {
      const err = vm.newError({ name: "ToolError", message: "callTool: the tool name must be a string" });
      deferred.reject(err);
      err.dispose();
      return deferred.handle;
    }
    if (stats.toolCallCount >= limits.maxToolCalls) {
      abort ??= { code: "max_tool_calls", message: `the script made more than ${limits.maxToolCalls} tool calls` };
      deferred.dispose();
      throw new Error("aborted");
    }
    if (inFlight >= limits.maxConcurrentToolCalls) {
      abort ??= { code: "max_concurrent_tool_calls", message: `the script ran more than ${limits.maxConcurrentToolCalls} tool calls at once` };
      deferred.dispose();
      throw new Error("aborted");
    }
    const encodedArgs = argsHandle ? refs.fromSandbox(argsHandle, "encode") : { ok: true as const, text: undefined };
    if (abort) {
      deferred.dispose();
      throw new Error("aborted");
    }
    if (!encodedArgs.ok) {
      const err = vm.newError({ name: "ToolError", message: `callTool: the arguments for ${name} are not JSON` });
      deferred.reject(err);
      err.dispose();
      return deferred.handle;
    }
    const args = encodedArgs.text === undefined ? null : JSON.parse(encodedArgs.text);
    const callId = `call_${++stats.toolCallCount}`;
    inFlight++;
    pending.add(deferred);
    options.onEvent?.({ type: "tool_call", callId, toolName: name, args });
    void callTool(name, args, callId, { byRef }).then(
      (value) => {
        inFlight--;
        if (finished) return; // torn down: the run disposed this deferred
        pending.delete(deferred);
        let handle: QuickJSHandle;
        try {
          handle = toSandbox(value);
        } catch {
          const err = vm.newError({ name: "ToolError", message: `${name} returned a value that is not JSON` });
          deferred.reject(err);
          err.dispose();
          deferred.dispose();
          options.onEvent?.({ type: "tool_result_applied", callId });
          return pump();
        }
        deferred.resolve(handle);
        handle.dispose();
        deferred.dispose();
        options.onEvent?.({ type: "tool_result_applied", callId });
        pump();
      },
      (error) => {
        inFlight--;
        if (finished) return;
        pending.delete(deferred);
        const message = error instanceof ToolCallError ? error.message : `${name} failed`;
        const err = vm.newError({ name: "ToolError", message });
        deferred.reject(err);
        err.dispose();
        deferred.dispose();
        options.onEvent?.({ type: "tool_result_applied", callId });
        pump();
      },
    );
    return deferred.handle;
  });
  for (const [global, byRef] of [["callTool", false], [REF_CALL, true]] as const) {
    const fn = bridge(byRef);
    vm.setProp(vm.global, global, fn);
    fn.dispose();
  }

  const timer = setTimeout(() => fail("timeout", `the script ran longer than ${limits.timeoutMs} ms`), limits.timeoutMs);
  const onAbort = () => {
    abort ??= { code: "cancelled", message: "the run was cancelled" };
    fail("cancelled", "the run was cancelled");
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const evaluated = slice(() => vm.evalCode(`${wrappedSource}()`, "agentscript.js"));
  if (evaluated.error) {
    const error = vm.dump(evaluated.error);
    evaluated.error.dispose();
    classifyAndFail(error);
  } else {
    mainPromise = evaluated.value;
    pump();
  }

  const result = await done;
  finished = true;
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", onAbort);
  try {
    for (const deferred of pending) deferred.dispose();
    mainPromise?.dispose();
    refs.dispose();
    vm.dispose();
    runtime.dispose();
  } catch {
    // Teardown failed (QuickJS asserts on leaked objects and then refuses further use): start
    // the next run on a fresh WebAssembly module rather than a possibly aborted one.
    quickjs = undefined;
  }
  return result;
}
