// Sealed records in an existing PostgreSQL (Bun.sql), shared by every instance of one app.
// Atomic updates hold a transaction-scoped advisory lock on the record, so two instances
// updating one session serialize instead of losing a write. Bun's pool opens a fresh connection
// for the next query after one fails, so an outage of any length ends by itself; the server
// also bounds every statement and abandoned transaction, so a stalled client cannot hold a lock.
import { SQL } from "bun";
import { storeOrigin, type RecordBackend, type RecordOps, type SealedRow } from "./backend.ts";
import { STORE_CONNECT_TIMEOUT_MS, STORE_UPDATE_TIMEOUT_MS } from "./deadline.ts";
import { SealedStateFullError } from "./errors.ts";

/** Server-side bounds, sent as run-time parameters of every connection (milliseconds). */
const SESSION_LIMITS = {
  // Past the client's own bound on an update: a backstop for a client that stopped waiting.
  statement_timeout: STORE_UPDATE_TIMEOUT_MS,
  // A transaction whose client went silent (a partition, not a crash: a crash closes the
  // socket and ends it at once) releases its advisory lock after this long.
  idle_in_transaction_session_timeout: 2 * STORE_UPDATE_TIMEOUT_MS,
};

type Sql = InstanceType<typeof SQL>;
type Query = (
  strings: TemplateStringsArray,
  ...values: unknown[]
) => Promise<Record<string, unknown>[]>;

const rowOf = (r: Record<string, unknown> | undefined): SealedRow | undefined =>
  r
    ? {
        iv: new Uint8Array(r.iv as Uint8Array),
        ct: new Uint8Array(r.ct as Uint8Array),
        expiresAt: (r.expires_at as number | null) ?? null,
      }
    : undefined;

function opsOn(query: Query): RecordOps {
  return {
    async read(key) {
      return rowOf(
        (
          await query`SELECT iv, ct, expires_at::float8 AS expires_at FROM auditor_sealed WHERE key = ${key}`
        )[0],
      );
    },
    async write(key, row) {
      try {
        await query`INSERT INTO auditor_sealed (key, iv, ct, expires_at, updated_at) VALUES (${key}, ${row.iv}, ${row.ct}, ${row.expiresAt}, ${Date.now()})
          ON CONFLICT (key) DO UPDATE SET iv = excluded.iv, ct = excluded.ct, expires_at = excluded.expires_at, updated_at = excluded.updated_at`;
      } catch (err) {
        // 53100: disk_full. The statement was rolled back: the previous value stays.
        if (
          (err as { errno?: string; code?: string }).errno === "53100" ||
          /disk full|No space left/i.test((err as Error).message)
        )
          throw new SealedStateFullError("sealed state is full (the PostgreSQL disk)");
        throw err;
      }
    },
  };
}

export class PostgresBackend implements RecordBackend {
  readonly description;
  private readonly ops: RecordOps;

  private constructor(
    private readonly sql: Sql,
    url: URL,
  ) {
    this.description = {
      kind: "postgres" as const,
      host: url.host,
      origin: storeOrigin(url),
      hashedNames: true,
    };
    this.ops = opsOn(sql as unknown as Query);
  }

  static async open(url: string): Promise<PostgresBackend> {
    const sql = new SQL(url, {
      connectionTimeout: STORE_CONNECT_TIMEOUT_MS / 1000,
      connection: SESSION_LIMITS,
    });
    await sql`CREATE TABLE IF NOT EXISTS auditor_sealed (
      key TEXT PRIMARY KEY,
      iv BYTEA NOT NULL,
      ct BYTEA NOT NULL,
      expires_at BIGINT,
      updated_at BIGINT NOT NULL
    )`;
    await sql`CREATE INDEX IF NOT EXISTS auditor_sealed_expiry ON auditor_sealed (expires_at) WHERE expires_at IS NOT NULL`;
    return new PostgresBackend(sql, new URL(url));
  }

  read(key: string) {
    return this.ops.read(key);
  }

  write(key: string, row: SealedRow) {
    return this.ops.write(key, row);
  }

  async remove(key: string): Promise<void> {
    await this.sql`DELETE FROM auditor_sealed WHERE key = ${key}`;
  }

  atomically<T>(key: string, fn: (ops: RecordOps) => Promise<T>): Promise<T> {
    return this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
      return fn(opsOn(tx as unknown as Query));
    }) as Promise<T>;
  }

  async sweepExpired(now: number): Promise<number> {
    return (
      await this
        .sql`DELETE FROM auditor_sealed WHERE expires_at IS NOT NULL AND expires_at <= ${now} RETURNING 1`
    ).length;
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}
