// Holds the live sessions: admission (capacity, limits capped by server maxima), lookup, and
// clean-up once a session has ended and its buffer is no longer useful.
import { DEFAULT_LIMITS, runAgentScript, type Limits, type RunOptions, type RunResult, type ToolRegistry } from "../runtime/index.ts";
import { DEFAULT_REF_LIMITS, type RefLimits } from "../sidecar/refs.ts";
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
}

export const DEFAULT_SESSION_SERVER_LIMITS: SessionServerLimits = {
  maxConcurrentSessions: 2_000,
  maxima: { ...DEFAULT_LIMITS, sessionTtlMs: 10 * 60_000, timeoutMs: 10 * 60_000 },
  bufferEvents: 1_000,
  heartbeatMs: 15_000,
  retainEndedMs: 60_000,
  refLimits: DEFAULT_REF_LIMITS,
};

export interface StartRequest {
  id: SessionOptions["id"];
  code: string;
  limits?: SessionLimits;
  refPolicy?: RefPolicy;
  channel: SessionOptions["channel"];
  init: SessionOptions["init"];
}

export class CapacityError extends Error {
  override name = "CapacityError";
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private running = 0;

  constructor(
    private readonly tools: ToolRegistry,
    private readonly limits: SessionServerLimits = DEFAULT_SESSION_SERVER_LIMITS,
    /** In the server, a RuntimePool's run (off the event loop); in-process by default. */
    private readonly runner: (code: string, options: RunOptions) => Promise<RunResult> = runAgentScript,
  ) {
    if (tools.has(INPUT_TOOL)) throw new Error(`a tool may not be named "${INPUT_TOOL}": sessions reserve it for client input`);
  }

  get activeCount(): number {
    return this.running;
  }

  /**
   * Creates a session (it starts running at once) or throws CapacityError.
   */
  start(request: StartRequest): Session {
    const { id, code, limits: requested = {}, init, refPolicy = RefPolicySchema.parse({}), channel } = request;
    if (this.running >= this.limits.maxConcurrentSessions) {
      throw new CapacityError(`the server is running its maximum of ${this.limits.maxConcurrentSessions} sessions`);
    }
    const { maxima } = this.limits;
    const capped = Object.fromEntries(
      Object.entries(maxima).map(([key, max]) => [key, Math.min(max, requested[key as keyof SessionLimits] ?? max)]),
    ) as Limits & { sessionTtlMs: number };
    const session = new Session({ id, code, limits: capped, tools: this.tools, runner: this.runner, bufferEvents: this.limits.bufferEvents, heartbeatMs: this.limits.heartbeatMs, init, refLimits: this.limits.refLimits, refPolicy, channel });
    this.sessions.set(session.id, session);
    this.running++;
    void session.run().finally(() => {
      this.running--;
      setTimeout(() => {
        this.sessions.delete(session.id);
        session.dispose();
      }, this.limits.retainEndedMs).unref?.();
    });
    return session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  cancelAll(): void {
    for (const session of this.sessions.values()) session.cancel();
  }
}
