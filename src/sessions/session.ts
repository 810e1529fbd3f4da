// One AgentScript session: runs the script, turns runtime events into numbered NDJSON lines
// (plaintext or sealed, by its channel), keeps a bounded buffer of lines for resume, and drives
// the lifecycle state machine. A session belongs to the request that started it: its lifecycle
// lines and everything its tools log (functions, egress) carry that request's id, even when they
// are logged from a timer, a worker's message or a later request.
import { toBase64Url } from "../../sdk/crypto/encoding.ts";
import type { ZodMiniType } from "zod/mini";
import type { Logger } from "../log.ts";
import { currentRequest, runInRequest, type RequestContext } from "../request-context.ts";
import type { Limits, RunEvent, Runner, RunStats, ToolRegistry } from "../runtime/index.ts";
import { compiled } from "../runtime/compiled-schema.ts";
import type { MemoryBudget } from "../runtime/memory-budget.ts";
import { RefSidecar, type RefLimits } from "../sidecar/index.ts";
import {
  EventPayloads,
  PROTOCOL_VERSION,
  type EventPayload,
  type EventType,
  type RefPolicy,
  type SessionEvent,
} from "../../sdk/wire/sessions.ts";
import type { SessionChannel } from "./channel.ts";
import { SessionStateMachine } from "./state-machine.ts";
import { ToolCallLedger } from "./tool-calls.ts";

export interface SessionOptions {
  code: string;
  limits: Limits & { sessionTtlMs: number };
  tools: ToolRegistry;
  /** runAgentScript, or a worker pool's run with the same contract. */
  runner: Runner;
  /** The server-wide budget the sidecar's values count against. */
  budget?: MemoryBudget;
  /** Events kept for resume; older ones are answered with 410. */
  bufferEvents: number;
  /** A heartbeat is sent after this long without any other event. */
  heartbeatMs: number;
  refLimits: RefLimits;
  refPolicy: RefPolicy;
  /** From newSessionId(): the caller needs it first, since an encrypted channel's handshake binds it. */
  id: string;
  /** Frames the session's lines. */
  channel: SessionChannel;
  /** Builds the first event's payload (URLs, token, handshake) once the session has its id. */
  init: (session: Session) => EventPayload<"session_init">;
  /** Where the session's lifecycle lines go; none when absent. */
  log?: Logger;
}

/** One line as sent: its seq and inner type (for the server's own bookkeeping) and its text. */
export interface SessionLine {
  seq: number;
  type: EventType;
  line: string;
}

export const newSessionId = () => `ses_${toBase64Url(crypto.getRandomValues(new Uint8Array(16)))}`;

export class Session {
  readonly id: string;
  readonly channel: SessionChannel;
  readonly machine = new SessionStateMachine();
  readonly expiresAt: Date;
  /** The request that started the session (none outside a request). */
  private readonly origin: RequestContext | undefined = currentRequest();
  /** The session's own log lines: they name the session and the request that started it. */
  readonly log: Logger | undefined;
  private readonly buffer: SessionLine[] = [];
  private readonly subscribers = new Set<(line: SessionLine) => void>();
  /** Set when the session must end with an `error` event instead of its `final`. */
  private failure: { code: string; message: string } | undefined;
  /**
   * Set when the session was stopped from outside the run (the memory budget, a shutdown): its
   * final says why, whatever the stopped run reported (a terminated worker says runtime_lost).
   */
  private stoppedFor: { code: "memory_budget" | "cancelled"; message: string } | undefined;
  private readonly abort = new AbortController();
  private readonly ledger: ToolCallLedger;
  /** Values kept out of the sandbox; freed by dispose(). */
  readonly sidecar: RefSidecar;
  private seq = 0;
  private pendingTools = 0;
  stats: RunStats = {
    durationMs: 0,
    toolCallCount: 0,
    stdoutBytes: 0,
    sandboxBytesIn: 0,
    cpuMs: 0,
  };
  lastEventAt = Date.now();
  readonly startedAt = new Date();
  /** How the session ended: `ok`, or the failure code of its final (or error) event. */
  outcome: string | undefined;
  private endedResolve!: () => void;
  /** Resolves once the final event has been emitted. */
  readonly ended = new Promise<void>((resolve) => (this.endedResolve = resolve));

  constructor(private readonly options: SessionOptions) {
    this.id = options.id;
    this.channel = options.channel;
    this.expiresAt = new Date(Date.now() + options.limits.sessionTtlMs);
    this.log = options.log?.child({
      sessionId: this.id,
      ...(this.origin ? { requestId: this.origin.requestId } : {}),
    });
    this.sidecar = new RefSidecar(options.refLimits, options.budget);
    this.ledger = new ToolCallLedger(options.tools, this.sidecar, this.abort.signal, (message) => {
      this.stoppedFor ??= { code: "memory_budget", message };
      this.abort.abort();
    });
  }

  /** The bearer token for this session's endpoints (random, or derived by both ends when encrypted). */
  get token(): string {
    return this.channel.token;
  }

  get refPolicy(): RefPolicy {
    return this.options.refPolicy;
  }

  /** The limits it runs under (what it asked for, capped by the server's maxima). */
  get limits(): SessionOptions["limits"] {
    return this.options.limits;
  }

  /** The session is gone for good: no value it held outlives it. */
  dispose(): void {
    this.cancel();
    this.sidecar.clear();
  }

  /** The client's answer to an `input` call (see ToolCallLedger.provideInput). */
  provideInput(callId: string, value: unknown): boolean {
    return this.ledger.provideInput(callId, value);
  }

  /** The last seq sent (lines being sealed are not counted until they are out). */
  get lastSeq(): number {
    return this.buffer.at(-1)?.seq ?? 0;
  }

  get firstBufferedSeq(): number {
    return this.buffer[0]?.seq ?? this.lastSeq + 1;
  }

  emit<T extends EventType>(type: T, payload: EventPayload<T>): void {
    const event = {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: this.id,
      seq: ++this.seq,
      type,
      payload: compiled(EventPayloads[type] as ZodMiniType).parse(payload),
    } as SessionEvent;
    this.lastEventAt = Date.now();
    const entry: SessionLine = { seq: event.seq, type, line: this.channel.encode(event) };
    this.buffer.push(entry);
    if (this.buffer.length > this.options.bufferEvents) this.buffer.shift();
    for (const subscriber of this.subscribers) subscriber(entry);
  }

  /** Buffered lines from `fromSeq` on, then live ones; returns the unsubscribe function. */
  subscribe(fromSeq: number, listener: (line: SessionLine) => void): () => void {
    for (const entry of this.buffer) if (entry.seq >= fromSeq) listener(entry);
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  /** Ends the session with an `error` event (e.g. a control message that failed authentication). */
  failWith(code: string, message: string): void {
    if (this.machine.terminal) return;
    this.failure ??= { code, message };
    this.abort.abort();
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Stops the run; with a reason, the final carries it (code `cancelled`). */
  cancel(reason?: string): void {
    if (this.machine.terminal) return;
    if (reason) this.stoppedFor ??= { code: "cancelled", message: reason };
    this.abort.abort();
  }

  /** Runs the script to its end; the last event is exactly one `final`. */
  async run(): Promise<void> {
    const { sessionTtlMs, ...runLimits } = this.options.limits;
    this.emit("session_init", this.options.init(this));
    this.machine.apply("start");
    this.log?.info("session started", {
      encrypted: this.channel.encrypted,
      limits: this.options.limits,
    });
    const heartbeat = setInterval(
      () => {
        if (Date.now() - this.lastEventAt >= this.options.heartbeatMs)
          this.emit("heartbeat", { ts: new Date().toISOString() });
      },
      Math.max(10, Math.floor(this.options.heartbeatMs / 2)),
    );
    const result = await this.options.runner(this.options.code, {
      // Tool calls may arrive from a worker or a remote runtime, outside any request: they run
      // in the starting request's context, so function and egress lines name it.
      toolHandler: (...call) => runInRequest(this.origin, () => this.ledger.handler(...call)),
      sessionId: this.id,
      signal: this.abort.signal,
      limits: { ...runLimits, timeoutMs: Math.min(runLimits.timeoutMs, sessionTtlMs) },
      onEvent: (event) => this.onRunEvent(event),
    });
    clearInterval(heartbeat);
    this.ledger.close();
    this.stats = result.stats;
    const { resolveReturned, maxResolvedBytes, allowNonReadable } = this.options.refPolicy;
    // No tool can be called any more: values only tools could read have no reader left.
    if (!allowNonReadable) this.sidecar.dropNonReadable();
    let code: string | undefined;
    if (this.failure) {
      this.outcome = this.failure.code;
      this.machine.apply("fail");
      this.emit("error", this.failure);
      code = this.failure.code;
    } else if (result.ok) {
      this.outcome = "ok";
      this.machine.apply("complete");
      const value = resolveReturned
        ? this.sidecar.resolveReadable(result.value, maxResolvedBytes)
        : result.value;
      this.emit("final", { ok: true, result: value, stats: result.stats });
    } else {
      const error = this.stoppedFor ?? result.error;
      this.outcome = error.code;
      this.machine.apply(error.code === "cancelled" ? "cancel" : "fail");
      this.emit("final", { ok: false, error, stats: result.stats });
      code = error.code;
    }
    this.log?.info("session ended", {
      state: this.machine.state,
      ...(code ? { code } : {}),
      stats: result.stats,
    });
    this.endedResolve();
  }

  private onRunEvent(event: RunEvent): void {
    switch (event.type) {
      case "stdout":
        this.stats.stdoutBytes += Buffer.byteLength(event.chunk);
        this.emit("stdout", { chunk: event.chunk });
        break;
      case "log":
        this.emit("log", {
          level: event.level,
          message: event.message,
          ...(event.data ? { data: event.data } : {}),
        });
        break;
      case "tool_call":
        this.pendingTools++;
        this.stats.toolCallCount++;
        this.machine.apply("tool_called");
        this.ledger.open(event.callId, event.toolName);
        this.emit("tool_call", {
          callId: event.callId,
          toolName: event.toolName,
          args: event.args,
        });
        break;
      case "tool_result_applied":
        this.settleTool();
        this.emit("tool_result_applied", { callId: event.callId });
        break;
    }
  }

  private settleTool(): void {
    this.pendingTools = Math.max(0, this.pendingTools - 1);
    if (this.pendingTools === 0 && this.machine.state === "waiting_for_tool")
      this.machine.apply("tools_settled");
  }
}
