// Holds the live sessions: admission (capacity, the memory budget, a cap per caller, limits
// capped by server maxima), lookup, and clean-up once a session has ended and its buffer is no
// longer useful.
import type { Logger } from "../log.ts";
import {
  DEFAULT_LIMITS,
  runAgentScript,
  type Limits,
  type Runner,
  type ToolRegistry,
} from "../runtime/index.ts";
import type { MemoryBudget } from "../runtime/memory-budget.ts";
import { DEFAULT_REF_LIMITS, type RefLimits } from "../sidecar/index.ts";
import { RefPolicySchema, type RefPolicy, type SessionLimits } from "../../sdk/wire/sessions.ts";
import { Session, type SessionOptions } from "./session.ts";
import { INPUT_TOOL } from "./tool-calls.ts";

export interface SessionServerLimits {
  maxConcurrentSessions: number;
  /** Upper bounds for what a client may ask; also the defaults. */
  maxima: Limits & { sessionTtlMs: number };
  bufferEvents: number;
  heartbeatMs: number;
  /** How long an ended session stays readable (state, resume, its refs); then it is disposed. */
  retainEndedMs: number;
  refLimits: RefLimits;
  /** Sessions one caller (API key, else client address) may have running at once. */
  maxSessionsPerCaller: number;
  /** A session whose every reader went away is cancelled unless one comes back within this. */
  disconnectGraceMs: number;
}

export const DEFAULT_SESSION_SERVER_LIMITS: SessionServerLimits = {
  maxConcurrentSessions: 2_000,
  maxima: { ...DEFAULT_LIMITS, sessionTtlMs: 10 * 60_000, timeoutMs: 10 * 60_000 },
  bufferEvents: 1_000,
  heartbeatMs: 15_000,
  retainEndedMs: 60_000,
  refLimits: DEFAULT_REF_LIMITS,
  maxSessionsPerCaller: 100,
  disconnectGraceMs: 30_000,
};

export interface StartRequest {
  id: SessionOptions["id"];
  /** Who asked (an API key's digest, else the client address): the per-caller cap counts by it. */
  caller: string;
  code: string;
  limits?: SessionLimits;
  refPolicy?: RefPolicy;
  channel: SessionOptions["channel"];
  init: SessionOptions["init"];
}

/** Told when sessions start and end (the metrics). */
export interface SessionObserver {
  started(session: Session): void;
  ended(session: Session): void;
}

/** What the operator's dashboard shows of a live session: metadata, never code or values. */
export interface SessionSummary {
  /** The first characters of the id: enough to tell sessions apart, not to address one. */
  idPrefix: string;
  state: string;
  encrypted: boolean;
  startedAt: string;
  expiresAt: string;
  limits: { cpuMs: number; timeoutMs: number; memoryBytes: number; maxToolCalls: number };
  toolCalls: number;
}

/** The server cannot take a session now: 503 with Retry-After. */
export class CapacityError extends Error {
  override name = "CapacityError";
  constructor(
    readonly code: "at_capacity" | "memory_budget",
    message: string,
  ) {
    super(message);
  }
}

/** This caller already runs its share of sessions: 429 with Retry-After. */
export class CallerLimitError extends Error {
  override name = "CallerLimitError";
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly perCaller = new Map<string, number>();
  /** Each session's pending disconnect-grace cancel (see readerLeft). */
  private readonly graceTimers = new WeakMap<Session, ReturnType<typeof setTimeout>>();
  private running = 0;

  constructor(
    private readonly tools: ToolRegistry,
    private readonly limits: SessionServerLimits = DEFAULT_SESSION_SERVER_LIMITS,
    /** In the server, a RuntimePool's run (off the event loop); in-process by default. */
    private readonly runner: Runner = runAgentScript,
    /** The server-wide memory budget (sandboxes and sidecars); none in-process. */
    private readonly budget?: MemoryBudget,
    private readonly hooks: {
      /** Where sessions log their lifecycle (started, ended); nowhere when absent. */
      log?: Logger;
      observer?: SessionObserver;
    } = {},
  ) {
    if (tools.has(INPUT_TOOL))
      throw new Error(
        `a tool may not be named "${INPUT_TOOL}": sessions reserve it for client input`,
      );
  }

  get activeCount(): number {
    return this.running;
  }

  /**
   * Creates a session (it starts running at once) or throws CapacityError.
   */
  start(request: StartRequest): Session {
    const {
      id,
      code,
      caller,
      limits: requested = {},
      init,
      refPolicy = RefPolicySchema.parse({}),
      channel,
    } = request;
    if (this.running >= this.limits.maxConcurrentSessions) {
      throw new CapacityError(
        "at_capacity",
        `the server is running its maximum of ${this.limits.maxConcurrentSessions} sessions`,
      );
    }
    if (this.budget && !this.budget.admitting) {
      throw new CapacityError(
        "memory_budget",
        "the server's memory budget for sessions is nearly used up; retry shortly",
      );
    }
    const callerCount = this.perCaller.get(caller) ?? 0;
    if (callerCount >= this.limits.maxSessionsPerCaller) {
      throw new CallerLimitError(
        `this caller already runs ${callerCount} sessions, the most one caller may; end one or retry later`,
      );
    }
    const { maxima } = this.limits;
    const capped = Object.fromEntries(
      Object.entries(maxima).map(([key, max]) => [
        key,
        Math.min(max, requested[key as keyof SessionLimits] ?? max),
      ]),
    ) as Limits & { sessionTtlMs: number };
    const session = new Session({
      id,
      code,
      limits: capped,
      tools: this.tools,
      runner: this.runner,
      bufferEvents: this.limits.bufferEvents,
      heartbeatMs: this.limits.heartbeatMs,
      init,
      refLimits: this.limits.refLimits,
      refPolicy,
      channel,
      ...(this.budget ? { budget: this.budget } : {}),
      ...(this.hooks.log ? { log: this.hooks.log } : {}),
    });
    this.sessions.set(session.id, session);
    this.running++;
    this.perCaller.set(caller, callerCount + 1);
    this.hooks.observer?.started(session);
    void session.run().finally(() => {
      this.hooks.observer?.ended(session);
      this.running--;
      const left = (this.perCaller.get(caller) ?? 1) - 1;
      if (left > 0) this.perCaller.set(caller, left);
      else this.perCaller.delete(caller);
      setTimeout(() => {
        this.sessions.delete(session.id);
        session.dispose();
      }, this.limits.retainEndedMs).unref?.();
    });
    return session;
  }

  /** Sessions held now (running, or ended and still readable), by state. */
  countByState(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const session of this.sessions.values())
      counts[session.machine.state] = (counts[session.machine.state] ?? 0) + 1;
    return counts;
  }

  /** Running sessions, oldest first, at most `max`. */
  liveSessions(max: number): SessionSummary[] {
    const out: SessionSummary[] = [];
    for (const session of this.sessions.values()) {
      if (session.machine.terminal) continue;
      const { cpuMs, timeoutMs, memoryBytes, maxToolCalls } = session.limits;
      out.push({
        idPrefix: session.id.slice(0, 12),
        state: session.machine.state,
        encrypted: session.channel.encrypted,
        startedAt: session.startedAt.toISOString(),
        expiresAt: session.expiresAt.toISOString(),
        limits: { cpuMs, timeoutMs, memoryBytes, maxToolCalls },
        toolCalls: session.stats.toolCallCount,
      });
      if (out.length >= max) break;
    }
    return out;
  }

  /**
   * A reader of `session`'s stream went away. If none is back within the grace window (the
   * client may resume from its last seq), the session is cancelled: nobody would see its end.
   * The window counts from the last reader leaving: a client that resumes and drops again gets
   * the whole window again.
   */
  readerLeft(session: Session): void {
    if (session.machine.terminal) return;
    clearTimeout(this.graceTimers.get(session));
    const timer = setTimeout(() => {
      this.graceTimers.delete(session);
      if (session.subscriberCount > 0 || session.machine.terminal) return;
      session.log?.info("session cancelled after client disconnect", { sessionId: session.id });
      session.cancel();
    }, this.limits.disconnectGraceMs);
    timer.unref?.();
    this.graceTimers.set(session, timer);
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Cancels every live session; each final says `reason`. */
  cancelAll(reason: string): void {
    for (const session of this.sessions.values()) session.cancel(reason);
  }
}
