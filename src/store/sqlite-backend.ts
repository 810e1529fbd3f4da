// The embedded backend: bun:sqlite in the data dir, WAL. A committed write survives the process
// dying (SIGKILL, crash); only an OS crash can lose the last few commits (synchronous=NORMAL;
// FULL would fsync every write, ~0.5 ms).
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { KeyedMutex, type RecordBackend, type RecordOps, type SealedRow } from "./backend.ts";
import { SealedStateFullError } from "./errors.ts";

export class SqliteBackend implements RecordBackend {
  readonly description = { kind: "sqlite" as const, hashedNames: false };
  private readonly mutex = new KeyedMutex();

  private constructor(private readonly db: Database) {}

  static open(dataDir: string, maxBytes?: number): SqliteBackend {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new Database(join(dataDir, "state.sqlite"), { create: true, strict: true });
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    db.exec(`CREATE TABLE IF NOT EXISTS sealed (
      key TEXT PRIMARY KEY,
      iv BLOB NOT NULL,
      ct BLOB NOT NULL,
      expires_at INTEGER,
      updated_at INTEGER NOT NULL
    ) STRICT`);
    if (maxBytes !== undefined) {
      // Writes beyond the cap fail exactly as on a full disk (SQLITE_FULL).
      const { page_size } = db.query<{ page_size: number }, []>("PRAGMA page_size").get()!;
      db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(maxBytes / page_size))}`);
    }
    return new SqliteBackend(db);
  }

  async read(key: string): Promise<SealedRow | undefined> {
    const row = this.db
      .query<{ iv: Uint8Array; ct: Uint8Array; expires_at: number | null }, [string]>(
        "SELECT iv, ct, expires_at FROM sealed WHERE key = ?",
      )
      .get(key);
    return row ? { iv: row.iv, ct: row.ct, expiresAt: row.expires_at } : undefined;
  }

  async write(key: string, row: SealedRow): Promise<void> {
    try {
      this.db
        .query(
          "INSERT INTO sealed (key, iv, ct, expires_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET iv = excluded.iv, ct = excluded.ct, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        )
        .run(key, row.iv, row.ct, row.expiresAt, Date.now());
    } catch (err) {
      // The statement is rolled back as a whole: the previous value stays as it was.
      if ((err as { code?: string }).code === "SQLITE_FULL")
        throw new SealedStateFullError("sealed state is full (disk or AUDITOR_STATE_MAX_BYTES)");
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    this.db.query("DELETE FROM sealed WHERE key = ?").run(key);
  }

  atomically<T>(key: string, fn: (ops: RecordOps) => Promise<T>): Promise<T> {
    // One process owns the file: a per-key mutex is enough.
    return this.mutex.run(key, () => fn(this));
  }

  async sweepExpired(now: number): Promise<number> {
    return this.db
      .query("DELETE FROM sealed WHERE expires_at IS NOT NULL AND expires_at <= ?")
      .run(now).changes;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
