// One AgentScript run inside a fresh QuickJS runtime, as a small class with named parts: the
// clock (CPU, wall and cancellation, enforced by the interrupt handler), the locked-down realm,
// the console bridge, the tool bridge, and settle/teardown.
//
// The invariant that makes the limits hold against hostile code: QuickJS runs only inside
// `slice()`, which accounts its CPU time (the thread's own CPU clock), marks the run whose
// memory growth it is, and tells the host (hooks) when it starts and ends. Evaluation, job
// draining, promise resolution, serializing values and describing thrown values all happen in
// slices; the interrupt handler stops any script code that would run outside one, and inside
// one it enforces the CPU limit, the wall-clock deadline and cancellation at every check.
// Values leave the sandbox only as JSON text or as strings read by the runtime's own captured
// functions; no getter, `toJSON` or `then` the script planted can run unaccounted.
import type {
  QuickJSContext,
  QuickJSDeferredPromise,
  QuickJSHandle,
  QuickJSRuntime,
} from "quickjs-emscripten-core";
import { ToolCallError } from "./broker.ts";
import type { Limits } from "./limits.ts";
import { HELPERS_SOURCE, LOCKDOWN_SOURCE } from "./lockdown.ts";
import {
  emptyStats,
  type RunErrorCode,
  type RunEvent,
  type RunResult,
  type RunStats,
} from "./protocol.ts";
import { REF_CALL } from "./ref-prelude.ts";
import {
  discardSandboxMemory,
  RunMemory,
  sandboxMemory,
  type SandboxMemory,
} from "./sandbox-memory.ts";
import { SandboxRefs } from "./sandbox-refs.ts";

/**
 * Answers one tool call; `callId` is the id the run's `tool_call` event carries. With `byRef`
 * (the auto-ref pass proved the script never reads the result) the answer should be a ref token.
 */
export type ToolHandler = (
  name: string,
  args: unknown,
  callId: string,
  options: { byRef: boolean },
) => Promise<unknown>;

/** How a thread that hosts runs (a pool worker) watches them from the outside. */
export interface SandboxHooks {
  /** A slice starts; it must end by `deadline` (epoch ms), or the host may kill the thread. */
  sliceStarted(deadline: number): void;
  sliceEnded(): void;
  /** The host cancelled this run; read by the interrupt handler while the thread is busy. */
  cancelRequested(): boolean;
  /**
   * Asked once, right before the run first enters QuickJS: false means the host took the run
   * back (it went to another thread), so it ends at once without running any script code.
   */
  claim?(): boolean;
}

export interface SandboxRunOptions {
  /** The instrumented script as `((refCall, refCheck) => async () => { … })`. */
  source: string;
  limits: Limits;
  toolHandler: ToolHandler;
  onEvent?: (event: RunEvent) => void;
  signal?: AbortSignal;
  hooks?: SandboxHooks;
}

/** QuickJS's own stack limit (a stack overflow is reported as memory_limit). */
const MAX_STACK_BYTES = 512 * 1024;

/**
 * The intrinsics a context is made with: what AgentScript uses (and the runtime: Proxy and
 * WeakMap for refs, Eval for the host's own evalCode), not typed arrays or the rest, which
 * also makes a context about half as costly to create.
 */
const INTRINSICS = {
  BaseObjects: true,
  Date: true,
  Eval: true,
  StringNormalize: true,
  RegExp: true,
  RegExpCompiler: true,
  JSON: true,
  Proxy: true,
  MapSet: true,
  Promise: true,
} as const;

interface Failure {
  code: RunErrorCode;
  message: string;
}

/** The thread's CPU time in ms (true CPU, so a busy machine does not eat a run's budget). */
const threadCpuMs: () => number =
  typeof process.threadCpuUsage === "function"
    ? () => {
        const usage = process.threadCpuUsage();
        return (usage.user + usage.system) / 1000;
      }
    : () => performance.now();

export async function runInSandbox(options: SandboxRunOptions): Promise<RunResult> {
  const memory = sandboxMemory();
  const module = await memory.quickjs();
  if (options.hooks?.claim && !options.hooks.claim())
    return {
      ok: false,
      error: { code: "cancelled", message: "taken back before it started" },
      stats: emptyStats(),
    };
  return new SandboxRun(memory, module.newRuntime(), options).run();
}

class SandboxRun {
  private readonly vm: QuickJSContext;
  private readonly limits: Limits;
  private readonly runMemory: RunMemory;
  private readonly started = performance.now();
  private readonly wallDeadline: number;
  private readonly stats: RunStats = emptyStats();

  // The clock.
  private inSlice = false;
  private cpuSpentMs = 0;
  private sliceCpuStart = 0;

  // What ends the run: set by the interrupt handler or a bridge, read after every slice.
  private failure: Failure | undefined;
  private finished = false;
  private settle!: (result: RunResult) => void;
  private readonly done = new Promise<RunResult>((resolve) => (this.settle = resolve));

  // Handles owned by the run, disposed at teardown.
  private readonly handles: QuickJSHandle[] = [];
  private readonly pending = new Set<QuickJSDeferredPromise>();
  private refs!: SandboxRefs;
  private captured: QuickJSHandle | undefined;
  private helpers: { describe: QuickJSHandle; toolError: QuickJSHandle } | undefined;
  private helpersTried = false;
  private mainPromise: QuickJSHandle | undefined;
  private inFlight = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly memory: SandboxMemory,
    private readonly runtime: QuickJSRuntime,
    private readonly options: SandboxRunOptions,
  ) {
    this.limits = options.limits;
    this.wallDeadline = this.started + options.limits.timeoutMs;
    this.runMemory = new RunMemory(options.limits.memoryBytes);
    runtime.setMemoryLimit(options.limits.memoryBytes);
    runtime.setMaxStackSize(MAX_STACK_BYTES);
    runtime.setInterruptHandler(() => this.shouldInterrupt());
    this.vm = runtime.newContext({ intrinsics: INTRINSICS });
  }

  async run(): Promise<RunResult> {
    const { signal } = this.options;
    this.timer = setTimeout(
      () => this.fail("timeout", `the script ran longer than ${this.limits.timeoutMs} ms`),
      this.limits.timeoutMs,
    );
    const onAbort = () => this.fail("cancelled", "the run was cancelled");
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (!this.finished) this.start();
    const result = await this.done;
    clearTimeout(this.timer);
    signal?.removeEventListener("abort", onAbort);
    this.teardown();
    return result;
  }

  // ---- the clock --------------------------------------------------------------------------

  /** Runs `fn`, which enters QuickJS, as an accounted slice (re-entrant calls join the outer one). */
  private slice<T>(fn: () => T): T {
    if (this.inSlice) return fn();
    this.inSlice = true;
    this.memory.current = this.runMemory;
    this.sliceCpuStart = threadCpuMs();
    this.options.hooks?.sliceStarted(
      Date.now() + Math.max(0, this.wallDeadline - performance.now()),
    );
    try {
      return fn();
    } finally {
      this.cpuSpentMs += threadCpuMs() - this.sliceCpuStart;
      this.inSlice = false;
      this.memory.current = undefined;
      this.options.hooks?.sliceEnded();
    }
  }

  private shouldInterrupt(): boolean {
    if (!this.inSlice) {
      this.failure ??= {
        code: "script_error",
        message: "the script tried to run outside the runtime's accounting",
      };
      return true;
    }
    if (this.failure) return true;
    if (performance.now() >= this.wallDeadline) {
      this.failure = {
        code: "timeout",
        message: `the script ran longer than ${this.limits.timeoutMs} ms`,
      };
    } else if (this.cpuSpentMs + threadCpuMs() - this.sliceCpuStart > this.limits.cpuMs) {
      this.failure = {
        code: "cpu_limit",
        message: `the script used more than ${this.limits.cpuMs} ms of CPU`,
      };
    } else if (this.options.hooks?.cancelRequested()) {
      this.failure = { code: "cancelled", message: "the run was cancelled" };
    }
    return this.failure !== undefined;
  }

  // ---- the realm --------------------------------------------------------------------------

  private start(): void {
    const { vm } = this;
    const violation = this.own(
      vm.newFunction("violation", (whatHandle) => {
        const what = vm.typeof(whatHandle) === "string" ? vm.getString(whatHandle) : "use";
        this.failure ??= {
          code: "ref_access",
          message: `the script tried to ${what} a reference; refs can only be passed to callTool or returned`,
        };
        throw new Error("aborted");
      }),
    );
    const captured = this.own(this.call(LOCKDOWN_SOURCE, "auditor-lockdown.js", violation));
    if (!captured) return;
    this.captured = captured;
    const refCheck = this.own(vm.getProp(captured, "refCheck"));
    this.refs = new SandboxRefs(vm, (fn) => this.slice(fn), captured, violation);
    this.installConsole();
    const callTool = this.own(this.toolBridge(false));
    const refCall = this.own(this.toolBridge(true));
    vm.setProp(vm.global, "callTool", callTool);
    const main = this.call(this.options.source, "agentscript.js", refCall, refCheck);
    if (!main) return;
    const promise = this.slice(() => vm.callFunction(main, vm.undefined));
    main.dispose();
    if (promise.error) return this.failFromThrown(promise.error);
    this.mainPromise = promise.value;
    this.drain();
  }

  /** Evaluates `source` (a function expression) and calls it with `args`, in one slice. */
  private call(
    source: string,
    filename: string,
    ...args: QuickJSHandle[]
  ): QuickJSHandle | undefined {
    const { vm } = this;
    const result = this.slice(() => {
      const fn = vm.evalCode(source, filename);
      if (fn.error) return fn;
      try {
        return vm.callFunction(fn.value, vm.undefined, ...args);
      } finally {
        fn.value.dispose();
      }
    });
    if (result.error) {
      this.failFromThrown(result.error);
      return undefined;
    }
    return result.value;
  }

  /** The describe/toolError helpers, compiled the first time a run needs one. */
  private helper(name: "describe" | "toolError"): QuickJSHandle | undefined {
    if (!this.helpers && this.captured && !this.helpersTried) {
      this.helpersTried = true; // compiling them can fail (a limit): never try twice
      const made = this.call(HELPERS_SOURCE, "auditor-helpers.js", this.captured);
      if (!made) return undefined;
      this.helpers = {
        describe: this.own(this.vm.getProp(made, "describe")),
        toolError: this.own(this.vm.getProp(made, "toolError")),
      };
      made.dispose();
    }
    return this.helpers?.[name];
  }

  private own<T extends QuickJSHandle | undefined>(handle: T): T {
    if (handle) this.handles.push(handle);
    return handle;
  }

  // ---- the console bridge -----------------------------------------------------------------

  private installConsole(): void {
    const { vm } = this;
    const consoleObject = vm.newObject();
    for (const name of ["log", "debug", "info", "warn", "error"] as const) {
      const fn = vm.newFunction(name, (...args) => this.write(name, args));
      vm.setProp(consoleObject, name, fn);
      fn.dispose();
    }
    vm.setProp(vm.global, "console", consoleObject);
    consoleObject.dispose();
  }

  /**
   * One console call. console.log is a stdout chunk (its arguments as text, a newline at the
   * end); the others are log events of their level: the first argument is the message and any
   * further ones are data (one plain object as it is, otherwise `{ args: [...] }`), all JSON.
   * Either way the call counts the bytes of its printed line against maxStdoutBytes.
   */
  private write(method: "log" | "debug" | "info" | "warn" | "error", args: QuickJSHandle[]): void {
    const texts = args.map((arg) => this.textOf(arg));
    const line = texts.join(" ") + "\n";
    this.stats.stdoutBytes += Buffer.byteLength(line);
    if (this.stats.stdoutBytes > this.limits.maxStdoutBytes) {
      this.failure ??= {
        code: "stdout_limit",
        message: `the script wrote more than ${this.limits.maxStdoutBytes} bytes to the console`,
      };
      throw new Error("aborted");
    }
    if (method === "log") {
      this.options.onEvent?.({ type: "stdout", chunk: line });
      return;
    }
    const data = args.length > 1 ? this.dataOf(args.slice(1), texts.slice(1)) : undefined;
    this.options.onEvent?.({
      type: "log",
      level: method,
      message: texts[0] ?? "",
      ...(data ? { data } : {}),
    });
  }

  /** The extra arguments of a log call as JSON values (strings stay strings). */
  private dataOf(args: QuickJSHandle[], texts: string[]): Record<string, unknown> {
    const values = args.map((arg, i) => {
      if (this.vm.typeof(arg) === "string") return texts[i];
      try {
        return JSON.parse(texts[i]!);
      } catch {
        return texts[i]; // "undefined", "[function]", "[unprintable]"
      }
    });
    const only = values.length === 1 ? values[0] : undefined;
    return only !== null && typeof only === "object" && !Array.isArray(only)
      ? (only as Record<string, unknown>)
      : { args: values };
  }

  private textOf(arg: QuickJSHandle): string {
    const { vm } = this;
    const type = vm.typeof(arg);
    if (type === "string") return vm.getString(arg);
    if (type === "undefined" || type === "function" || type === "symbol")
      return type === "undefined" ? "undefined" : `[${type}]`;
    const logged = this.refs.fromSandbox(arg, "forLog");
    if (!logged.ok) logged.error.dispose();
    if (this.failure) throw new Error("aborted");
    return (logged.ok && logged.text) || "[unprintable]";
  }

  // ---- the tool bridge --------------------------------------------------------------------

  private toolBridge(byRef: boolean): QuickJSHandle {
    const { vm } = this;
    return vm.newFunction(byRef ? REF_CALL : "callTool", (nameHandle, argsHandle) => {
      const deferred = vm.newPromise();
      const name = vm.typeof(nameHandle) === "string" ? vm.getString(nameHandle) : undefined;
      if (name === undefined)
        return this.rejectNow(deferred, "callTool: the tool name must be a string");
      if (this.stats.toolCallCount >= this.limits.maxToolCalls) {
        deferred.dispose();
        this.failure ??= {
          code: "max_tool_calls",
          message: `the script made more than ${this.limits.maxToolCalls} tool calls`,
        };
        throw new Error("aborted");
      }
      if (this.inFlight >= this.limits.maxConcurrentToolCalls) {
        deferred.dispose();
        this.failure ??= {
          code: "max_concurrent_tool_calls",
          message: `the script ran more than ${this.limits.maxConcurrentToolCalls} tool calls at once`,
        };
        throw new Error("aborted");
      }
      const encoded = argsHandle
        ? this.refs.fromSandbox(argsHandle, "encode")
        : { ok: true as const, text: undefined };
      if (this.failure) {
        if (!encoded.ok) encoded.error.dispose();
        deferred.dispose();
        throw new Error("aborted");
      }
      if (!encoded.ok) {
        encoded.error.dispose();
        return this.rejectNow(deferred, `callTool: the arguments for ${name} are not JSON`);
      }
      const args = encoded.text === undefined ? null : JSON.parse(encoded.text);
      const callId = `call_${++this.stats.toolCallCount}`;
      this.inFlight++;
      this.pending.add(deferred);
      this.options.onEvent?.({ type: "tool_call", callId, toolName: name, args });
      this.options.toolHandler(name, args, callId, { byRef }).then(
        (value) =>
          this.answer(deferred, callId, () => {
            let handle: QuickJSHandle;
            try {
              handle = this.toSandbox(value);
            } catch {
              const why = this.runMemory.refused
                ? "a result too large for the script's memory"
                : "a value that is not JSON";
              return this.rejectWith(deferred, `${name} returned ${why}`);
            }
            deferred.resolve(handle);
            handle.dispose();
          }),
        (error) =>
          this.answer(deferred, callId, () =>
            this.rejectWith(
              deferred,
              error instanceof ToolCallError ? error.message : `${name} failed`,
            ),
          ),
      );
      return deferred.handle;
    });
  }

  /** A tool answered: settle its promise and run what it unblocks, in one slice. */
  private answer(
    deferred: QuickJSDeferredPromise,
    callId: string,
    settleInSandbox: () => void,
  ): void {
    this.inFlight--;
    if (this.finished) return; // torn down: the run disposed this deferred
    this.pending.delete(deferred);
    // One slice: the answer reaches the script, its event goes out, the script runs on.
    this.drain(() => {
      settleInSandbox();
      deferred.dispose();
      this.options.onEvent?.({ type: "tool_result_applied", callId });
    });
  }

  private rejectNow(deferred: QuickJSDeferredPromise, message: string): QuickJSHandle {
    this.rejectWith(deferred, message);
    return deferred.handle;
  }

  private rejectWith(deferred: QuickJSDeferredPromise, message: string): void {
    const { vm } = this;
    const text = vm.newString(message);
    const make = this.helper("toolError");
    this.slice(() => {
      const error = make
        ? vm.callFunction(make, vm.undefined, text)
        : { error: vm.newError("the runtime could not make a ToolError") };
      if (error.error) {
        // A limit was hit while making it (the interrupt set the failure): the run ends with it.
        error.error.dispose();
        this.failure ??= {
          code: "script_error",
          message: "the runtime could not deliver a tool error",
        };
        return;
      }
      deferred.reject(error.value);
      error.value.dispose();
    });
    text.dispose();
  }

  private toSandbox(value: unknown): QuickJSHandle {
    const text = JSON.stringify(value === undefined ? null : value);
    this.stats.sandboxBytesIn += Buffer.byteLength(text);
    return this.refs.toSandbox(text);
  }

  // ---- settle and teardown ----------------------------------------------------------------

  /** Runs `before` and then pending jobs (the script's continuations) in one slice, then settles if done. */
  private drain(before?: () => void): void {
    if (this.finished) return;
    const result = this.slice(() => {
      before?.();
      return this.runtime.executePendingJobs();
    });
    if (result.error) return this.failFromThrown(result.error);
    result.dispose();
    if (this.failure) return this.fail(this.failure.code, this.failure.message);
    this.settleIfDone();
  }

  // Polls the script's promise instead of vm.resolvePromise, which would leave handles alive
  // inside QuickJS when a run ends early (timeout, limits) and break the runtime's teardown.
  private settleIfDone(): void {
    if (this.finished || !this.mainPromise) return;
    const { vm } = this;
    const state = vm.getPromiseState(this.mainPromise);
    if (state.type === "pending") return;
    if (state.type === "rejected") return this.failFromThrown(state.error);
    const returnedUndefined = vm.typeof(state.value) === "undefined";
    const encoded = this.refs.fromSandbox(state.value, "encode");
    state.value.dispose();
    if (!encoded.ok) encoded.error.dispose();
    if (this.failure) return this.fail(this.failure.code, this.failure.message);
    if (!encoded.ok || (encoded.text === undefined && !returnedUndefined)) {
      return this.fail("output_not_json", "the script returned a value that is not JSON");
    }
    const text = encoded.text;
    if (text !== undefined && Buffer.byteLength(text) > this.limits.maxOutputBytes) {
      return this.fail(
        "output_limit",
        `the script returned more than ${this.limits.maxOutputBytes} bytes`,
      );
    }
    this.finish({ ok: true, value: text === undefined ? undefined : JSON.parse(text) });
  }

  /** The script threw (or QuickJS stopped it): say why, from what the run knows first. */
  private failFromThrown(error: QuickJSHandle): void {
    if (this.failure) {
      error.dispose();
      return this.fail(this.failure.code, this.failure.message);
    }
    const refused = this.runMemory.refused;
    const describe = refused ? undefined : this.helper("describe");
    const described = describe
      ? this.slice(() => this.vm.callFunction(describe, this.vm.undefined, error))
      : undefined;
    error.dispose();
    if (refused) {
      described?.dispose();
      return this.fail(
        refused,
        refused === "memory_budget"
          ? "the server's memory budget for scripts is exhausted; retry later"
          : `the script used more than ${this.limits.memoryBytes} bytes of memory`,
      );
    }
    if (!described || described.error) {
      described?.dispose();
      const late = this.failure as Failure | undefined; // describing can hit a limit too
      if (late) return this.fail(late.code, late.message);
      return this.fail("script_error", "the script threw a value that cannot be described");
    }
    const name = this.stringProp(described.value, "name");
    const message = this.stringProp(described.value, "message");
    described.value.dispose();
    if (name === "InternalError" && message.includes("stack overflow"))
      return this.fail("memory_limit", "the script overflowed its stack");
    if (name === "InternalError" && message.includes("string too long"))
      return this.fail("memory_limit", "the script built a string longer than the sandbox allows");
    if (message.includes("out of memory"))
      return this.fail(
        "memory_limit",
        `the script used more than ${this.limits.memoryBytes} bytes of memory`,
      );
    this.fail("script_error", `${name}: ${message}`);
  }

  /** A string property of the describer's own result (a plain object of two strings). */
  private stringProp(handle: QuickJSHandle, key: string): string {
    const prop = this.vm.getProp(handle, key);
    const text = this.vm.typeof(prop) === "string" ? this.vm.getString(prop) : "";
    prop.dispose();
    return text;
  }

  private fail(code: RunErrorCode, message: string): void {
    this.finish({ ok: false, error: { code, message } });
  }

  private finish(outcome: { ok: true; value: unknown } | { ok: false; error: Failure }): void {
    if (this.finished) return;
    this.finished = true;
    this.stats.durationMs = Math.round((performance.now() - this.started) * 1000) / 1000;
    this.stats.cpuMs = Math.round(this.cpuSpentMs * 1000) / 1000;
    this.settle({ ...outcome, stats: this.stats } as RunResult);
  }

  private teardown(): void {
    try {
      for (const deferred of this.pending) deferred.dispose();
      this.mainPromise?.dispose();
      this.refs?.dispose();
      for (const handle of this.handles.reverse()) handle.dispose();
      this.vm.dispose();
      this.runtime.dispose();
    } catch {
      // Teardown failed (QuickJS asserts on leaked objects and then refuses further use): the
      // next run starts on a fresh WebAssembly module rather than a possibly aborted one.
      discardSandboxMemory();
    }
  }
}
