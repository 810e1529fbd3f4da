// Sealed records in an existing Redis (Bun's client), shared by every instance of one app.
// Expiry is Redis's own (PX); an atomic update holds a short lease lock (SET NX PX, released
// only by its holder) so two instances updating one session serialize.
import { RedisClient } from "bun";
import { fromBase64, toBase64 } from "../crypto/encoding.ts";
import { KeyedMutex, storeOrigin, type RecordBackend, type RecordOps, type SealedRow } from "./backend.ts";
import { SealedStateError, SealedStateFullError } from "./errors.ts";

const LEASE_MS = 10_000;
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export class RedisBackend implements RecordBackend {
  readonly description;
  private readonly local = new KeyedMutex();

  private constructor(private readonly redis: RedisClient, url: URL) {
    this.description = { kind: "redis" as const, host: url.host, origin: storeOrigin(url), hashedNames: true };
  }

  static async open(url: string): Promise<RedisBackend> {
    const redis = new RedisClient(url);
    await redis.send("PING", []);
    return new RedisBackend(redis, new URL(url));
  }

  async read(key: string): Promise<SealedRow | undefined> {
    const value = await this.redis.get(`auditor:sealed:${key}`);
    if (value === null) return undefined;
    const [iv, ct, expires] = value.split(".");
    if (!iv || !ct) throw new SealedStateError(`sealed record "${key}" is malformed in Redis`);
    return { iv: fromBase64(iv), ct: fromBase64(ct), expiresAt: expires ? Number(expires) : null };
  }

  async write(key: string, row: SealedRow): Promise<void> {
    const value = `${toBase64(row.iv)}.${toBase64(row.ct)}.${row.expiresAt ?? ""}`;
    const ttl = row.expiresAt === null ? [] : ["PX", String(Math.max(1, row.expiresAt - Date.now()))];
    try {
      await this.redis.send("SET", [`auditor:sealed:${key}`, value, ...ttl]);
    } catch (err) {
      if (/OOM/.test((err as Error).message)) throw new SealedStateFullError("sealed state is full (Redis maxmemory)");
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.redis.del(`auditor:sealed:${key}`);
  }

  atomically<T>(key: string, fn: (ops: RecordOps) => Promise<T>): Promise<T> {
    // In this process, one at a time per key; across instances, the lease.
    return this.local.run(key, async () => {
      const lock = `auditor:lock:${key}`;
      const token = crypto.randomUUID();
      for (let wait = 5; (await this.redis.send("SET", [lock, token, "NX", "PX", String(LEASE_MS)])) === null; wait = Math.min(wait * 2, 100)) {
        await Bun.sleep(wait);
      }
      try {
        return await fn(this);
      } finally {
        await this.redis.send("EVAL", [RELEASE, "1", lock, token]);
      }
    });
  }

  async sweepExpired(): Promise<number> {
    return 0; // Redis expires records itself
  }

  async close(): Promise<void> {
    this.redis.close();
  }
}
