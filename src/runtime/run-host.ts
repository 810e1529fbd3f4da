// The host half of the run contract (protocol.ts): starts runs on a guest over a port, answers
// their tool calls with the run's own handler, forwards their events, and resolves each run
// with its result. Written once for every transport (a pool worker, an extracted runtime's
// WebSocket). Tool failures are sanitized here, the one place they cross: a ToolCallError keeps
// its message and code; anything else becomes "<tool> failed", never host text. A run whose
// guest goes away ends with runtime_lost; a run the guest does not finish by its own deadline
// plus a grace period ends with timeout (the guest is told to cancel): nothing hangs.
import {
  GuestMessageSchema,
  RUN_PROTOCOL_VERSION,
  emptyStats,
  type GuestMessage,
  type HostMessage,
  type RunErrorCode,
  type RunPort,
  type RunResult,
} from "./protocol.ts";
import { toolHandlerOf, type RunOptions } from "./run.ts";
import { ToolCallError } from "./broker.ts";
import { DEFAULT_LIMITS, LimitsSchema } from "./limits.ts";

const MAX_TIMEOUT_MS = LimitsSchema.shape.timeoutMs.maxValue ?? 3_600_000;

/** How long past a run's own timeoutMs the host waits before giving up on its guest. */
export const GUEST_GRACE_MS = 2_000;

interface HostedRun {
  options: RunOptions;
  resolve: (result: RunResult) => void;
  started: number;
  deadline: ReturnType<typeof setTimeout>;
  onAbort: () => void;
}

export interface RunHostOptions {
  /** Parse every guest message with zod (a separate process); a worker of this binary is trusted. */
  validate: boolean;
  /** A run missed its deadline: the transport may kill the guest (a wedged worker). */
  onOverdue?: (sessionId: string) => void;
}

export const failedRun = (code: RunErrorCode, message: string, started: number): RunResult => ({
  ok: false,
  error: { code, message },
  stats: emptyStats(Math.round(performance.now() - started)),
});

export class RunHost {
  private readonly runs = new Map<string, HostedRun>();
  private closed: string | undefined;

  constructor(
    private readonly port: RunPort<unknown, HostMessage>,
    private readonly options: RunHostOptions,
  ) {
    port.onMessage((raw) => this.receive(raw));
    port.onClose((reason) => this.lost(reason));
  }

  /** Runs in flight on this port. */
  get load(): number {
    return this.runs.size;
  }

  has(sessionId: string): boolean {
    return this.runs.has(sessionId);
  }

  run(code: string, options: RunOptions & { sessionId: string }): Promise<RunResult> {
    const { sessionId } = options;
    const started = performance.now();
    if (this.closed)
      return Promise.resolve(
        failedRun("runtime_lost", `the runtime is gone (${this.closed})`, started),
      );
    if (this.runs.has(sessionId)) throw new Error(`run ${sessionId} is already on this port`);
    return new Promise<RunResult>((resolve) => {
      // Clamped: an out-of-range request fails at the guest (invalid_limits) long before this.
      const timeoutMs = Math.min(
        options.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs,
        MAX_TIMEOUT_MS,
      );
      const cancel = (reason: string) =>
        this.send({ type: "cancel", protocolVersion: RUN_PROTOCOL_VERSION, sessionId, reason });
      const run: HostedRun = {
        options,
        resolve,
        started,
        onAbort: () => cancel("cancelled by the session"),
        deadline: setTimeout(() => {
          cancel("the run missed its deadline");
          this.finish(
            sessionId,
            failedRun("timeout", `the script ran longer than ${timeoutMs} ms`, started),
          );
          this.options.onOverdue?.(sessionId);
        }, timeoutMs + GUEST_GRACE_MS),
      };
      this.runs.set(sessionId, run);
      this.send({
        type: "run",
        protocolVersion: RUN_PROTOCOL_VERSION,
        sessionId,
        code,
        limits: options.limits ?? {},
      });
      if (options.signal?.aborted) run.onAbort();
      else options.signal?.addEventListener("abort", run.onAbort, { once: true });
    });
  }

  /** Forgets a run the guest never started (the pool sent it elsewhere): it does not resolve here. */
  abandon(sessionId: string): void {
    const run = this.runs.get(sessionId);
    if (!run) return;
    this.runs.delete(sessionId);
    clearTimeout(run.deadline);
    run.options.signal?.removeEventListener("abort", run.onAbort);
  }

  /** Ends every run on this port (the transport closed or is being replaced). */
  lost(reason: string): void {
    this.closed ??= reason;
    for (const [sessionId, run] of this.runs) {
      this.finish(
        sessionId,
        failedRun(
          "runtime_lost",
          `the runtime running this session went away (${reason})`,
          run.started,
        ),
      );
    }
  }

  private send(message: HostMessage): void {
    if (!this.closed) this.port.send(message);
  }

  private receive(raw: unknown): void {
    let message: GuestMessage;
    if (this.options.validate) {
      const parsed = GuestMessageSchema.safeParse(raw);
      if (!parsed.success) return this.lost("the runtime sent a message outside the protocol");
      message = parsed.data;
    } else {
      message = raw as GuestMessage;
    }
    const run = this.runs.get(message.sessionId);
    if (!run) return; // a run that already ended (cancelled, overdue): late messages are dropped
    switch (message.type) {
      case "event":
        run.options.onEvent?.(message.event);
        return;
      case "tool_call":
        return this.callTool(run, message);
      case "done":
        return this.finish(message.sessionId, message.result);
    }
  }

  private callTool(run: HostedRun, call: Extract<GuestMessage, { type: "tool_call" }>): void {
    const { sessionId, callId, toolName, args, byRef } = call;
    run.options.onEvent?.({ type: "tool_call", callId, toolName, args });
    const submit = (
      answer:
        | { ok: true; result: unknown }
        | { ok: false; error: { message: string; code: string } },
    ) => {
      if (this.runs.get(sessionId) !== run) return; // the run ended meanwhile
      this.send({
        type: "tool_result_submit",
        protocolVersion: RUN_PROTOCOL_VERSION,
        sessionId,
        callId,
        ...answer,
      });
    };
    let answer: Promise<unknown>;
    try {
      answer = toolHandlerOf(run.options)(toolName, args, callId, { byRef });
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (result) => submit({ ok: true, result }),
      (err) =>
        submit({
          ok: false,
          error:
            err instanceof ToolCallError
              ? { message: err.message, code: err.code }
              : { message: `${toolName} failed`, code: "tool_failed" },
        }),
    );
  }

  private finish(sessionId: string, result: RunResult): void {
    const run = this.runs.get(sessionId);
    if (!run) return;
    this.runs.delete(sessionId);
    clearTimeout(run.deadline);
    run.options.signal?.removeEventListener("abort", run.onAbort);
    run.resolve(result);
  }
}
