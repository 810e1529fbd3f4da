// The HTTP side of a graceful shutdown. Once draining, every new request (but /healthz and
// /readyz, which say how the process is) is answered 503 `shutting_down` with Retry-After and
// Connection: close, while the listener stays open so that callers get that answer rather than
// a refused connection. Requests admitted before count as in flight until their response has
// been sent in full (a session stream until it ends); when the grace period ends, those still
// waiting for their handler are answered 503 `shutting_down` at once, never reset.
import type { MiddlewareHandler } from "hono";
import { apiError } from "./errors.ts";
import { whenSent } from "./when-sent.ts";

/** DRAIN_RETRY_AFTER_S = 5: about what a restarted instance needs before it serves again. */
const DRAIN_RETRY_AFTER_S = 5;
const EXEMPT = new Set(["/healthz", "/readyz"]);

export class Drain {
  private state: "serving" | "draining" | "expired" = "serving";
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** One per request whose handler is running: end() answers them (a Set, so nothing piles up). */
  private readonly running = new Set<() => void>();
  private readonly beginning = new AbortController();
  /** Aborted when the drain begins: long-lived streams (the egress log's) end on it. */
  readonly signal = this.beginning.signal;

  get draining(): boolean {
    return this.state !== "serving";
  }

  /** Requests admitted before the drain whose responses are not finished yet. */
  get pending(): number {
    return this.inFlight;
  }

  begin(): void {
    if (this.state !== "serving") return;
    this.state = "draining";
    this.beginning.abort();
  }

  /** The grace period is over: handlers still running are answered 503 now. */
  end(): void {
    this.begin();
    this.state = "expired";
    for (const answer of this.running) answer();
  }

  /** Resolves once no admitted request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  readonly middleware: MiddlewareHandler = async (c, next) => {
    const refuse = (message: string) => {
      c.header("retry-after", String(DRAIN_RETRY_AFTER_S));
      c.header("connection", "close");
      return apiError(c, 503, "shutting_down", message);
    };
    if (this.draining && !EXEMPT.has(c.req.path)) {
      return refuse("the server is shutting down; retry on another instance or shortly");
    }
    this.inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
    let answer = () => {};
    const expired = new Promise<"expired">((resolve) => (answer = () => resolve("expired")));
    this.running.add(answer);
    let outcome: "done" | "expired";
    try {
      outcome = await Promise.race([next().then(() => "done" as const), expired]);
    } catch (err) {
      release();
      throw err;
    } finally {
      this.running.delete(answer);
    }
    if (outcome === "expired") {
      release();
      return refuse(
        "the server shut down before this request finished; retry on another instance or shortly",
      );
    }
    whenSent(c, release);
  };
}
