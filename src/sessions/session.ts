// One AgentScript session: runs the script, turns runtime events into numbered NDJSON events,
// keeps a bounded buffer for resume, and drives the lifecycle state machine.
import { toBase64Url } from "../crypto/encoding.ts";
import type { Limits, RunEvent, RunOptions, RunResult, ToolRegistry } from "../runtime/index.ts";
import { RefSidecar, type RefLimits } from "../sidecar/refs.ts";
import { EventPayloads, PROTOCOL_VERSION, type EventPayload, type EventType, type RefPolicy, type SessionEvent } from "../../sdk/wire/sessions.ts";
import { SessionStateMachine } from "./state-machine.ts";
import { ToolCallLedger } from "./tool-calls.ts";

export interface SessionOptions {
  code: string;
  limits: Limits & { sessionTtlMs: number };
  tools: ToolRegistry;
  /** runAgentScript, or a worker pool's run with the same contract. */
  runner: (code: string, options: RunOptions) => Promise<RunResult>;
  /** Events kept for resume; older ones are answered with 410. */
  bufferEvents: number;
  /** A heartbeat is sent after this long without any other event. */
  heartbeatMs: number;
  refLimits: RefLimits;
  refPolicy: RefPolicy;
  /** Builds the first event's payload (URLs, token) once the session has its id. */
  init: (session: Session) => EventPayload<"session_init">;
}

export class Session {
  readonly id = `ses_${toBase64Url(crypto.getRandomValues(new Uint8Array(16)))}`;
  readonly token = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  readonly machine = new SessionStateMachine();
  readonly expiresAt: Date;
  private readonly buffer: SessionEvent[] = [];
  private readonly subscribers = new Set<(event: SessionEvent) => void>();
  private readonly abort = new AbortController();
  private readonly ledger: ToolCallLedger;
  /** Values kept out of the sandbox; freed by dispose(). */
  readonly sidecar: RefSidecar;
  private seq = 0;
  private pendingTools = 0;
  stats = { durationMs: 0, toolCallCount: 0, stdoutBytes: 0, sandboxBytesIn: 0 };
  lastEventAt = Date.now();
  private endedResolve!: () => void;
  /** Resolves once the final event has been emitted. */
  readonly ended = new Promise<void>((resolve) => (this.endedResolve = resolve));

  constructor(private readonly options: SessionOptions) {
    this.expiresAt = new Date(Date.now() + options.limits.sessionTtlMs);
    this.sidecar = new RefSidecar(options.refLimits);
    this.ledger = new ToolCallLedger(options.tools, this.sidecar, this.abort.signal);
  }

  get refPolicy(): RefPolicy {
    return this.options.refPolicy;
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

  get lastSeq(): number {
    return this.seq;
  }

  get firstBufferedSeq(): number {
    return this.buffer[0]?.seq ?? this.seq + 1;
  }

  emit<T extends EventType>(type: T, payload: EventPayload<T>): SessionEvent {
    const event = { protocolVersion: PROTOCOL_VERSION, sessionId: this.id, seq: ++this.seq, type, payload: EventPayloads[type].parse(payload) } as SessionEvent;
    this.buffer.push(event);
    if (this.buffer.length > this.options.bufferEvents) this.buffer.shift();
    this.lastEventAt = Date.now();
    for (const subscriber of this.subscribers) subscriber(event);
    return event;
  }

  /** Buffered events from `fromSeq` on, then live ones; returns the unsubscribe function. */
  subscribe(fromSeq: number, listener: (event: SessionEvent) => void): () => void {
    for (const event of this.buffer) if (event.seq >= fromSeq) listener(event);
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  cancel(): void {
    if (!this.machine.terminal) this.abort.abort();
  }

  /** Runs the script to its end; the last event is exactly one `final`. */
  async run(): Promise<void> {
    const { sessionTtlMs, ...runLimits } = this.options.limits;
    this.emit("session_init", this.options.init(this));
    this.machine.apply("start");
    const heartbeat = setInterval(() => {
      if (Date.now() - this.lastEventAt >= this.options.heartbeatMs) this.emit("heartbeat", { ts: new Date().toISOString() });
    }, Math.max(10, Math.floor(this.options.heartbeatMs / 2)));
    const result = await this.options.runner(this.options.code, {
      toolHandler: this.ledger.handler,
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
    if (result.ok) {
      this.machine.apply("complete");
      const value = resolveReturned ? this.sidecar.resolveReadable(result.value, maxResolvedBytes) : result.value;
      this.emit("final", { ok: true, result: value, stats: result.stats });
    } else {
      this.machine.apply(result.error.code === "cancelled" ? "cancel" : "fail");
      this.emit("final", { ok: false, error: result.error, stats: result.stats });
    }
    this.endedResolve();
  }

  private onRunEvent(event: RunEvent): void {
    switch (event.type) {
      case "stdout":
        this.stats.stdoutBytes += Buffer.byteLength(event.text);
        this.emit("stdout", { text: event.text });
        break;
      case "log":
        this.emit("log", { level: event.level, message: event.text });
        break;
      case "tool_call":
        this.pendingTools++;
        this.stats.toolCallCount++;
        this.machine.apply("tool_called");
        this.ledger.open(event.callId, event.toolName);
        this.emit("tool_call", { callId: event.callId, toolName: event.toolName, args: event.args });
        break;
      case "tool_result_applied":
        this.settleTool();
        this.emit("tool_result_applied", { callId: event.callId });
        break;
    }
  }

  private settleTool(): void {
    this.pendingTools = Math.max(0, this.pendingTools - 1);
    if (this.pendingTools === 0 && this.machine.state === "waiting_for_tool") this.machine.apply("tools_settled");
  }
}
