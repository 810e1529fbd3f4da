// The bound on every store call (src/store/guarded-backend.ts), over a backend whose calls
// never answer or fail as a store does: a call past its deadline is a StoreUnavailableError
// ("timeout") and health says so; an update abandoned at its deadline writes nothing later;
// errors the store answered with on purpose, and the caller's own, pass through unchanged.
import { describe, expect, test } from "bun:test";
import {
  KeyedMutex,
  type RecordBackend,
  type RecordOps,
  type SealedRow,
} from "../../src/store/backend.ts";
import { STORE_UPDATE_TIMEOUT_MS } from "../../src/store/deadline.ts";
import { SealedStateFullError, StoreUnavailableError } from "../../src/store/errors.ts";
import { GuardedBackend } from "../../src/store/guarded-backend.ts";

const row: SealedRow = { iv: new Uint8Array(12), ct: new Uint8Array(16), expiresAt: null };

/** An in-memory backend whose behaviour the test sets call by call. */
class ScriptedBackend implements RecordBackend {
  readonly description = { kind: "redis" as const, hashedNames: true };
  readonly rows = new Map<string, SealedRow>();
  private readonly mutex = new KeyedMutex();
  /** Before each call: resolve to go on, never resolve to hang, throw to fail. */
  gate: () => Promise<void> = async () => {};
  async read(key: string) {
    await this.gate();
    return this.rows.get(key);
  }
  async write(key: string, value: SealedRow) {
    await this.gate();
    this.rows.set(key, value);
  }
  async remove(key: string) {
    await this.gate();
    this.rows.delete(key);
  }
  atomically<T>(key: string, fn: (ops: RecordOps) => Promise<T>) {
    return this.mutex.run(key, async () => {
      await this.gate();
      return fn(this);
    });
  }
  async sweepExpired() {
    return 0;
  }
  async close() {}
}

describe("GuardedBackend", () => {
  test("a call the store never answers ends at its deadline as a timeout, and health says so until a call succeeds", async () => {
    const inner = new ScriptedBackend();
    const guarded = new GuardedBackend(inner);
    inner.gate = () => new Promise(() => {});
    const err = await guarded.read("k").catch((e) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.category).toBe("timeout");
    expect(guarded.health).toMatchObject({ ok: false, lastError: "timeout" });
    inner.gate = async () => {};
    await guarded.read("k");
    expect(guarded.health).toMatchObject({ ok: true, lastError: "timeout" });
  });

  test("a connection failure is 'unreachable'; no engine message leaves the store", async () => {
    const inner = new ScriptedBackend();
    const guarded = new GuardedBackend(inner);
    inner.gate = async () => {
      throw Object.assign(new Error("connect ECONNREFUSED 10.0.0.7:6379 user=admin"), {
        code: "ERR_REDIS_CONNECTION_CLOSED",
      });
    };
    const err = await guarded.write("k", row).catch((e) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.category).toBe("unreachable");
    expect(err.message).not.toContain("10.0.0.7");
    expect(JSON.stringify(guarded.health)).not.toContain("admin");
  });

  test(
    "an update abandoned at its deadline never writes afterwards",
    async () => {
      const inner = new ScriptedBackend();
      const guarded = new GuardedBackend(inner);
      let release = () => {};
      inner.gate = () => new Promise<void>((resolve) => (release = resolve)); // the lock wait
      const update = guarded.atomically("k", async (ops) => ops.write("k", row)).catch((e) => e);
      expect(await update).toBeInstanceOf(StoreUnavailableError);
      inner.gate = async () => {};
      release(); // the section finally gets its lock, after the caller was told "timeout"
      await Bun.sleep(50);
      expect(inner.rows.has("k")).toBe(false);
    },
    STORE_UPDATE_TIMEOUT_MS + 5_000,
  );

  test("a full store and the caller's own error pass through unchanged; the store counts as there", async () => {
    const inner = new ScriptedBackend();
    const guarded = new GuardedBackend(inner);
    const own = new Error("the change function threw");
    expect(await guarded.atomically("k", async () => Promise.reject(own)).catch((e) => e)).toBe(
      own,
    );
    inner.gate = async () => {
      throw new SealedStateFullError("sealed state is full");
    };
    expect(await guarded.write("k", row).catch((e) => e)).toBeInstanceOf(SealedStateFullError);
    expect(guarded.health).toMatchObject({ ok: true, lastError: null });
  });
});
