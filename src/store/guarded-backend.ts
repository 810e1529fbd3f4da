// Wraps any backend so that every call is bounded in time and reports to the store's health:
// a call that does not finish within its deadline, or fails because the store is away, becomes
// a StoreUnavailableError with a category, and the caller answers 503 instead of hanging.
// Errors the store answered with on purpose (full, a malformed record) pass through unchanged,
// as do errors thrown by the caller's own code inside an update.
import type { RecordBackend, RecordOps, SealedRow } from "./backend.ts";
import { STORE_CALL_TIMEOUT_MS, STORE_UPDATE_TIMEOUT_MS, withDeadline } from "./deadline.ts";
import { SealedStateError, StoreUnavailableError } from "./errors.ts";
import { categorize, StoreHealth } from "./health.ts";

export class GuardedBackend implements RecordBackend {
  readonly health = new StoreHealth();

  constructor(private readonly inner: RecordBackend) {}

  get description() {
    return this.inner.description;
  }

  read(key: string): Promise<SealedRow | undefined> {
    return this.call(() => this.inner.read(key), STORE_CALL_TIMEOUT_MS, "a read");
  }

  write(key: string, row: SealedRow): Promise<void> {
    return this.call(() => this.inner.write(key, row), STORE_CALL_TIMEOUT_MS, "a write");
  }

  remove(key: string): Promise<void> {
    return this.call(() => this.inner.remove(key), STORE_CALL_TIMEOUT_MS, "a delete");
  }

  sweepExpired(now: number): Promise<number> {
    return this.call(() => this.inner.sweepExpired(now), STORE_UPDATE_TIMEOUT_MS, "a sweep");
  }

  async atomically<T>(key: string, fn: (ops: RecordOps) => Promise<T>): Promise<T> {
    // Once the caller has been told "timeout", the section must not write any more: its ops
    // refuse, so it unwinds (PostgreSQL rolls back, Redis releases its lock).
    let abandoned = false;
    const ops: RecordOps = {
      read: (k) =>
        this.sectionCall(
          () => section!.read(k),
          () => abandoned,
          "a read",
        ),
      write: (k, row) =>
        this.sectionCall(
          () => section!.write(k, row),
          () => abandoned,
          "a write",
        ),
    };
    let section: RecordOps | undefined;
    let fromCaller: { error: unknown } | undefined;
    const work = this.inner.atomically(key, async (inner) => {
      section = inner;
      try {
        return await fn(ops);
      } catch (error) {
        fromCaller = { error };
        throw error;
      }
    });
    try {
      const abandon = () => (abandoned = true);
      const value = await withDeadline(work, STORE_UPDATE_TIMEOUT_MS, "an update", abandon);
      this.health.succeeded();
      return value;
    } catch (err) {
      // Already classified (a section op), or the caller's own error.
      if (fromCaller && fromCaller.error === err) throw err;
      throw this.failure(err);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async sectionCall<T>(
    work: () => Promise<T>,
    abandoned: () => boolean,
    what: string,
  ): Promise<T> {
    if (abandoned()) {
      throw new StoreUnavailableError("timeout", `the update took too long; ${what} was not sent`);
    }
    return this.call(work, STORE_CALL_TIMEOUT_MS, what);
  }

  private async call<T>(work: () => Promise<T>, ms: number, what: string): Promise<T> {
    try {
      const value = await withDeadline(work(), ms, what);
      this.health.succeeded();
      return value;
    } catch (err) {
      throw this.failure(err);
    }
  }

  /** The error to throw for `err`, recording it when it means the store is away. */
  private failure(err: unknown): Error {
    if (err instanceof StoreUnavailableError) {
      this.health.failed(err.category);
      return err;
    }
    if (err instanceof SealedStateError) {
      this.health.succeeded(); // the store answered (full, a malformed record): it is there
      return err;
    }
    const category = categorize(err);
    this.health.failed(category);
    return new StoreUnavailableError(category, `the state store is unavailable (${category})`);
  }
}
