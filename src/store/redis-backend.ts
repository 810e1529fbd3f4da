// Sealed records in an existing Redis (Bun's client), shared by every instance of one app.
// Expiry is Redis's own (PX). An atomic update holds a lock on the record with a short lease
// (SET NX PX), renewed while the update runs and released only by its holder; the update's
// write is fenced (it happens only while the writer still holds the lock, checked inside Redis
// in the same script), so a holder that was paused past its lease cannot overwrite the next
// holder's update. A holder that dies (SIGKILL, a crash) costs the next writer at most the
// lease. The connection survives outages of any length (redis-connection.ts).
import { fromBase64, toBase64 } from "../../sdk/crypto/encoding.ts";
import {
  KeyedMutex,
  storeOrigin,
  type RecordBackend,
  type RecordOps,
  type SealedRow,
} from "./backend.ts";
import { STORE_UPDATE_TIMEOUT_MS } from "./deadline.ts";
import { SealedStateError, SealedStateFullError, StoreUnavailableError } from "./errors.ts";
import { RedisConnection } from "./redis-connection.ts";

/**
 * LOCK_LEASE_MS = 2 s: what a crashed holder costs the next writer at most. A live holder
 * renews it every LOCK_RENEW_MS, so only an instance whose event loop stalls for 1.5 s loses a
 * lease it still needs, and then its write is refused (fenced) rather than lost silently.
 */
export const LOCK_LEASE_MS = 2_000;
const LOCK_RENEW_MS = 500;
/** A waiting writer polls a taken lock at most this far apart. */
const LOCK_POLL_MAX_MS = 100;

/** KEYS: lock; ARGV: token, lease milliseconds. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1]
then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** KEYS: lock; ARGV: token. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1]
then return redis.call('del', KEYS[1]) else return 0 end`;
/** KEYS: lock, record; ARGV: token, value, PX milliseconds or "". */
const FENCED_SET = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('set', KEYS[2], ARGV[2])
else redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
return 1`;

const recordKey = (key: string) => `auditor:sealed:${key}`;
const encode = (row: SealedRow) => `${toBase64(row.iv)}.${toBase64(row.ct)}.${row.expiresAt ?? ""}`;
const ttlOf = (row: SealedRow) =>
  row.expiresAt === null ? "" : String(Math.max(1, row.expiresAt - Date.now()));

export class RedisBackend implements RecordBackend {
  readonly description;
  private readonly local = new KeyedMutex();

  private constructor(
    private readonly redis: RedisConnection,
    url: URL,
  ) {
    this.description = {
      kind: "redis" as const,
      host: url.host,
      origin: storeOrigin(url),
      hashedNames: true,
    };
  }

  static async open(url: string): Promise<RedisBackend> {
    const redis = await RedisConnection.open(url);
    await redis.send("PING", []);
    return new RedisBackend(redis, new URL(url));
  }

  async read(key: string): Promise<SealedRow | undefined> {
    const value = (await this.redis.send("GET", [recordKey(key)])) as string | null;
    if (value === null) return undefined;
    const [iv, ct, expires] = value.split(".");
    if (!iv || !ct) throw new SealedStateError(`sealed record "${key}" is malformed in Redis`);
    return { iv: fromBase64(iv), ct: fromBase64(ct), expiresAt: expires ? Number(expires) : null };
  }

  async write(key: string, row: SealedRow): Promise<void> {
    const ttl = ttlOf(row);
    const expiry = ttl ? ["PX", ttl] : [];
    await this.full(() => this.redis.send("SET", [recordKey(key), encode(row), ...expiry]));
  }

  async remove(key: string): Promise<void> {
    await this.redis.send("DEL", [recordKey(key)]);
  }

  atomically<T>(key: string, fn: (ops: RecordOps) => Promise<T>): Promise<T> {
    // In this process, one at a time per key; across instances, the lease.
    return this.local.run(key, async () => {
      const lock = `auditor:lock:${key}`;
      const token = crypto.randomUUID();
      await this.acquire(lock, token);
      const renew = setInterval(() => {
        const lease = String(LOCK_LEASE_MS);
        void this.redis.send("EVAL", [RENEW, "1", lock, token, lease]).catch(() => {});
      }, LOCK_RENEW_MS);
      const ops: RecordOps = {
        read: (k) => this.read(k),
        write: async (k, row) => {
          const ttl = ttlOf(row);
          const args = [FENCED_SET, "2", lock, recordKey(k), token, encode(row), ttl];
          const done = await this.full(() => this.redis.send("EVAL", args));
          if (done !== 1) {
            const message = "the update lost its lock before writing (this instance stalled)";
            throw new StoreUnavailableError("timeout", `${message}; nothing was written`);
          }
        },
      };
      try {
        return await fn(ops);
      } finally {
        clearInterval(renew);
        // If this fails, the lease ends the lock.
        await this.redis.send("EVAL", [RELEASE, "1", lock, token]).catch(() => {});
      }
    });
  }

  async sweepExpired(): Promise<number> {
    return 0; // Redis expires records itself
  }

  async close(): Promise<void> {
    this.redis.close();
  }

  /** Takes the lock, waiting for its holder (or its lease) to end, within the update's bound. */
  private async acquire(lock: string, token: string): Promise<void> {
    const giveUp = Date.now() + STORE_UPDATE_TIMEOUT_MS;
    for (let wait = 5; ; wait = Math.min(wait * 2, LOCK_POLL_MAX_MS)) {
      const taken = await this.redis.send("SET", [lock, token, "NX", "PX", String(LOCK_LEASE_MS)]);
      if (taken !== null) return;
      if (Date.now() + wait > giveUp) {
        const message = `the record stayed locked for ${STORE_UPDATE_TIMEOUT_MS} ms`;
        throw new StoreUnavailableError("timeout", message);
      }
      await Bun.sleep(wait);
    }
  }

  private async full<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (/OOM/.test((err as Error).message)) {
        throw new SealedStateFullError("sealed state is full (Redis maxmemory)");
      }
      throw err;
    }
  }
}
