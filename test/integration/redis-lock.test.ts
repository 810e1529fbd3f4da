// Redis update locks (src/store/redis-backend.ts): a lease renewed while the update runs, so a
// live holder keeps its lock however long it needs it, yet a holder killed mid-update (a real
// SIGKILL of another process) costs the next writer at most about one lease; and a fenced
// write, so a holder that lost its lease cannot overwrite whoever holds the lock now. The next
// writer's wait is printed; the assertion bounds it only in terms of the lease, generously.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { join } from "node:path";
import { LOCK_LEASE_MS, RedisBackend } from "../../src/store/redis-backend.ts";
import { STORE_UPDATE_TIMEOUT_MS } from "../../src/store/deadline.ts";
import { StoreUnavailableError } from "../../src/store/errors.ts";
import { collectLines } from "../helpers/auditor-process.ts";
import { redisMissing, startPrivateRedis, type PrivateStore } from "../helpers/private-stores.ts";

const HOLDER = join(import.meta.dir, "../fixtures/lock-holder.ts");
const row = (n: number) => ({
  iv: new Uint8Array(12).fill(n),
  ct: new Uint8Array(16).fill(n),
  expiresAt: null,
});

const missing = redisMissing();
if (missing) {
  if (process.env.CI) test("a private redis can run", () => expect(missing).toBeUndefined());
  else console.warn(`skipping the Redis lock tests: ${missing}`);
}

describe.skipIf(missing !== undefined)("Redis update locks", () => {
  let redis: PrivateStore;
  let writer: RedisBackend;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    writer = await RedisBackend.open(redis.url);
  });
  afterAll(async () => {
    await writer?.close();
    await redis?.destroy();
  });

  test("a live holder keeps its lock past its lease; killed mid-update, it costs the next writer at most about one lease", async () => {
    const key = `lock-${crypto.randomUUID()}`;
    const holder = Bun.spawn([process.execPath, HOLDER, redis.url, key], {
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const lines: string[] = [];
      await new Promise<void>((resolve, reject) => {
        void collectLines(holder.stdout, lines, (line) => line === "holding" && resolve()).then(
          () => reject(new Error("the holder exited before holding the lock")),
        );
      });
      // While the holder lives, its renewed lease outlasts a writer's whole update bound.
      const blocked = await writer.atomically(key, async () => "acquired").catch((err) => err);
      expect(blocked).toBeInstanceOf(StoreUnavailableError);
      expect(STORE_UPDATE_TIMEOUT_MS).toBeGreaterThan(2 * LOCK_LEASE_MS);

      holder.kill("SIGKILL");
      await holder.exited;
      const killed = performance.now();
      await writer.atomically(key, (ops) => ops.write(key, row(1)));
      const waitedMs = performance.now() - killed;
      console.log(
        `the next writer waited ${Math.round(waitedMs)} ms after the holder's SIGKILL (lease ${LOCK_LEASE_MS} ms)`,
      );
      expect(waitedMs).toBeLessThan(2 * LOCK_LEASE_MS);
      expect(await writer.read(key)).toEqual(row(1));
    } finally {
      holder.kill("SIGKILL");
    }
  }, 30_000);

  test("a holder whose lease lapsed cannot write: its write is refused and the record keeps the new holder's value", async () => {
    const key = `fence-${crypto.randomUUID()}`;
    const raw = new RedisClient(redis.url);
    try {
      await writer.write(key, row(1));
      const late = await writer
        .atomically(key, async (ops) => {
          await ops.read(key);
          // The lease lapsed meanwhile and another writer took the lock and wrote.
          await raw.send("SET", [`auditor:lock:${key}`, "another-holder"]);
          await raw.send("SET", [
            `auditor:sealed:${key}`,
            "BwcHBwcHBwcHBwcH.BwcHBwcHBwcHBwcHBwcHBw==.",
          ]);
          await ops.write(key, row(9));
        })
        .catch((err) => err);
      expect(late).toBeInstanceOf(StoreUnavailableError);
      expect(await writer.read(key)).toEqual(row(7));
      expect(await raw.get(`auditor:lock:${key}`)).toBe("another-holder"); // its release left the new lock alone
    } finally {
      raw.close();
    }
  });
});
