// Sealed state (DESIGN "Sealed state"): each value is AES-256-GCM under the TEE sealing key with
// its record key as AAD, so a row moved to another key, edited, or read with another sealing
// key fails loudly instead of returning wrong data. The backend (sqlite, PostgreSQL, Redis) only
// ever sees ciphertext; a shared one also sees only HMAC-hashed record names. Every backend call
// is bounded in time and reported to `health` (guarded-backend.ts).
import { hmac } from "@noble/hashes/hmac";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { fromUtf8, toHex, utf8 } from "../../sdk/crypto/encoding.ts";
import type { StoreDescription } from "./backend.ts";
import { SealedStateError } from "./errors.ts";
import { GuardedBackend } from "./guarded-backend.ts";
import type { StoreHealthReport } from "./health.ts";
import { PostgresBackend } from "./postgres-backend.ts";
import { RedisBackend } from "./redis-backend.ts";
import { SqliteBackend } from "./sqlite-backend.ts";

export { SealedStateError, SealedStateFullError, StoreUnavailableError } from "./errors.ts";

/** The record the readiness probe reads: never written, so the read is the cheapest call. */
const PROBE_RECORD = "(readiness probe)";

export interface PutOptions {
  /** The record disappears this long after its last write. */
  ttlMs?: number;
}

/** A key-value view; `scope` gives a view whose keys live under a prefix. */
export interface StateView {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown, options?: PutOptions): Promise<void>;
  delete(key: string): Promise<void>;
  /** Read-modify-write of one record, serialized with other updates of the same key (in every instance). */
  update<T>(key: string, change: (current: T | undefined) => T, options?: PutOptions): Promise<T>;
}

export interface OpenOptions {
  now?: () => number;
  /** Embedded store only: cap on the database size; a write beyond it fails like a full disk would. */
  maxBytes?: number;
  /** A shared store: postgres://… or redis://… (rediss://). Absent: bun:sqlite in the data dir. */
  url?: string;
}

export class SealedStore implements StateView {
  private constructor(
    private readonly backend: GuardedBackend,
    private readonly key: CryptoKey,
    /** Hashes record names for a shared backend; identity for the embedded one. */
    private readonly nameOf: (key: string) => string,
    private readonly now: () => number,
  ) {}

  static async open(
    dataDir: string,
    sealingKey: Uint8Array,
    options: OpenOptions = {},
  ): Promise<SealedStore> {
    const inner = options.url
      ? await openShared(options.url)
      : SqliteBackend.open(dataDir, options.maxBytes);
    const backend = new GuardedBackend(inner);
    const key = await crypto.subtle.importKey(
      "raw",
      sealingKey as Uint8Array<ArrayBuffer>,
      "AES-GCM",
      false,
      ["encrypt", "decrypt"],
    );
    const namesKey = hkdf(sha256, sealingKey, utf8("auditor/state/v1"), utf8("record names"), 32);
    const nameOf = backend.description.hashedNames
      ? (name: string) => toHex(hmac(sha256, namesKey, utf8(name)))
      : (name: string) => name;
    return new SealedStore(backend, key, nameOf, options.now ?? Date.now);
  }

  get description(): StoreDescription {
    return this.backend.description;
  }

  /** Whether the store answers, as the last call saw it (no call is made). */
  get health(): StoreHealthReport {
    return this.backend.health.report;
  }

  /** Asks the store (one read of a record that does not exist) and returns its health. */
  async probe(): Promise<StoreHealthReport> {
    await this.backend.read(this.nameOf(PROBE_RECORD)).catch(() => {}); // recorded in health
    return this.health;
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    return this.open<T>(key, await this.backend.read(this.nameOf(key)));
  }

  async put(key: string, value: unknown, options: PutOptions = {}): Promise<void> {
    await this.backend.write(this.nameOf(key), await this.seal(key, value, options));
  }

  async delete(key: string): Promise<void> {
    await this.backend.remove(this.nameOf(key));
  }

  update<T>(
    key: string,
    change: (current: T | undefined) => T,
    options: PutOptions = {},
  ): Promise<T> {
    const name = this.nameOf(key);
    return this.backend.atomically(name, async (ops) => {
      const value = change(await this.open<T>(key, await ops.read(name)));
      await ops.write(name, await this.seal(key, value, options));
      return value;
    });
  }

  /** Removes expired records; returns how many. */
  sweepExpired(): Promise<number> {
    return this.backend.sweepExpired(this.now());
  }

  scope(prefix: string): StateView {
    const full = (key: string) => `${prefix}/${key}`;
    return {
      get: (key) => this.get(full(key)),
      put: (key, value, options) => this.put(full(key), value, options),
      delete: (key) => this.delete(full(key)),
      update: (key, change, options) => this.update(full(key), change, options),
    };
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  private async seal(key: string, value: unknown, options: PutOptions) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new SealedStateError(`value for "${key}" is not JSON`);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: utf8(key) as Uint8Array<ArrayBuffer> },
        this.key,
        utf8(text) as Uint8Array<ArrayBuffer>,
      ),
    );
    return { iv, ct, expiresAt: options.ttlMs === undefined ? null : this.now() + options.ttlMs };
  }

  private async open<T>(
    key: string,
    row: { iv: Uint8Array; ct: Uint8Array; expiresAt: number | null } | undefined,
  ): Promise<T | undefined> {
    if (!row) return undefined;
    if (row.expiresAt !== null && row.expiresAt <= this.now()) return undefined; // swept later
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: row.iv as Uint8Array<ArrayBuffer>,
          additionalData: utf8(key) as Uint8Array<ArrayBuffer>,
        },
        this.key,
        row.ct as Uint8Array<ArrayBuffer>,
      );
    } catch {
      throw new SealedStateError(
        `sealed record "${key}" cannot be opened: wrong sealing key or tampered data`,
      );
    }
    return JSON.parse(fromUtf8(new Uint8Array(plain))) as T;
  }
}

async function openShared(url: string): Promise<RedisBackend | PostgresBackend> {
  const scheme = new URL(url).protocol;
  if (scheme === "postgres:" || scheme === "postgresql:") return PostgresBackend.open(url);
  if (scheme === "redis:" || scheme === "rediss:") return RedisBackend.open(url);
  throw new SealedStateError(
    `AUDITOR_STATE_URL: unsupported scheme ${scheme} (postgres:// or redis://)`,
  );
}
