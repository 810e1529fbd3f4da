// Sealed state on bun:sqlite (DESIGN "Sealed state"): each value is AES-256-GCM under the TEE
// sealing key with its record key as AAD, so a row moved to another key, edited, or read with
// another sealing key fails loudly instead of returning wrong data.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fromUtf8, utf8 } from "../crypto/encoding.ts";

export class SealedStateError extends Error {
  override name = "SealedStateError";
}

/** The disk (or the operator's AUDITOR_STATE_MAX_BYTES) is full: nothing was written, nothing lost. */
export class SealedStateFullError extends SealedStateError {
  override name = "SealedStateFullError";
}

export interface OpenOptions {
  now?: () => number;
  /** Cap on the database size; a write beyond it fails like a full disk would. */
  maxBytes?: number;
}

export interface PutOptions {
  /** The record disappears this long after its last write. */
  ttlMs?: number;
}

/** A key-value view; `scope` gives a view whose keys live under a prefix. */
export interface StateView {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown, options?: PutOptions): Promise<void>;
  delete(key: string): Promise<void>;
  /** Read-modify-write of one record, serialized with other updates of the same key. */
  update<T>(key: string, change: (current: T | undefined) => T, options?: PutOptions): Promise<T>;
}

interface Row {
  iv: Uint8Array;
  ct: Uint8Array;
  expires_at: number | null;
}

export class SealedStore implements StateView {
  private readonly locks = new Map<string, Promise<unknown>>();

  private constructor(
    private readonly db: Database,
    private readonly key: CryptoKey,
    private readonly now: () => number,
  ) {}

  static async open(dataDir: string, sealingKey: Uint8Array, options: OpenOptions = {}): Promise<SealedStore> {
    const now = options.now ?? Date.now;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new Database(join(dataDir, "state.sqlite"), { create: true, strict: true });
    // WAL with synchronous=NORMAL: a committed write survives the process dying (SIGKILL, crash);
    // only an OS crash can lose the last few commits. FULL would fsync every write (~0.5 ms).
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    db.exec(`CREATE TABLE IF NOT EXISTS sealed (
      key TEXT PRIMARY KEY,
      iv BLOB NOT NULL,
      ct BLOB NOT NULL,
      expires_at INTEGER,
      updated_at INTEGER NOT NULL
    ) STRICT`);
    if (options.maxBytes !== undefined) {
      const { page_size } = db.query<{ page_size: number }, []>("PRAGMA page_size").get()!;
      db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(options.maxBytes / page_size))}`);
    }
    const key = await crypto.subtle.importKey("raw", sealingKey as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt", "decrypt"]);
    return new SealedStore(db, key, now);
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const row = this.db.query<Row, [string]>("SELECT iv, ct, expires_at FROM sealed WHERE key = ?").get(key);
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= this.now()) {
      this.db.query("DELETE FROM sealed WHERE key = ? AND expires_at <= ?").run(key, this.now());
      return undefined;
    }
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: row.iv as Uint8Array<ArrayBuffer>, additionalData: utf8(key) as Uint8Array<ArrayBuffer> }, this.key, row.ct as Uint8Array<ArrayBuffer>);
    } catch {
      throw new SealedStateError(`sealed record "${key}" cannot be opened: wrong sealing key or tampered data`);
    }
    return JSON.parse(fromUtf8(new Uint8Array(plain))) as T;
  }

  async put(key: string, value: unknown, options: PutOptions = {}): Promise<void> {
    const text = JSON.stringify(value);
    if (text === undefined) throw new SealedStateError(`value for "${key}" is not JSON`);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: utf8(key) as Uint8Array<ArrayBuffer> }, this.key, utf8(text) as Uint8Array<ArrayBuffer>),
    );
    const now = this.now();
    const expires = options.ttlMs === undefined ? null : now + options.ttlMs;
    try {
      this.db
        .query("INSERT INTO sealed (key, iv, ct, expires_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET iv = excluded.iv, ct = excluded.ct, expires_at = excluded.expires_at, updated_at = excluded.updated_at")
        .run(key, iv, ct, expires, now);
    } catch (err) {
      // The statement is rolled back as a whole: the previous value stays as it was.
      if ((err as { code?: string }).code === "SQLITE_FULL") throw new SealedStateFullError("sealed state is full (disk or AUDITOR_STATE_MAX_BYTES)");
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    this.db.query("DELETE FROM sealed WHERE key = ?").run(key);
  }

  update<T>(key: string, change: (current: T | undefined) => T, options?: PutOptions): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () => {
      const value = change(await this.get<T>(key));
      await this.put(key, value, options);
      return value;
    });
    this.locks.set(key, next);
    void next.finally(() => {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }).catch(() => {});
    return next;
  }

  /** Removes expired records; returns how many. */
  sweepExpired(): number {
    return this.db.query("DELETE FROM sealed WHERE expires_at IS NOT NULL AND expires_at <= ?").run(this.now()).changes;
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

  close(): void {
    this.db.close();
  }
}
