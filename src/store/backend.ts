// Where sealed records are kept. The store above seals every value before it reaches a backend,
// so a backend only ever holds ciphertext: bun:sqlite in the data dir (one instance), or an
// existing shared engine (PostgreSQL, Redis) that several instances of one app can use.

export interface SealedRow {
  iv: Uint8Array;
  ct: Uint8Array;
  /** Milliseconds since the epoch, or null for no expiry. */
  expiresAt: number | null;
}

/** Reads and writes inside one atomic section (see RecordBackend.atomically). */
export interface RecordOps {
  read(key: string): Promise<SealedRow | undefined>;
  write(key: string, row: SealedRow): Promise<void>;
}

export interface StoreDescription {
  kind: "sqlite" | "postgres" | "redis";
  /** host:port of a shared store (no credentials); absent for the embedded one. */
  host?: string;
  /** scheme://host:port of a shared store: all the report publishes of AUDITOR_STATE_URL. */
  origin?: string;
  /** Whether record names are hashed before they reach the store. */
  hashedNames: boolean;
}

/** scheme://host:port of a store URL; userinfo, path and query (credentials, options) stay out. */
export function storeOrigin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

export interface RecordBackend extends RecordOps {
  readonly description: StoreDescription;
  remove(key: string): Promise<void>;
  /** Runs `fn` so that no other update of `key` (in any instance) interleaves with it. */
  atomically<T>(key: string, fn: (ops: RecordOps) => Promise<T>): Promise<T>;
  /** Drops expired records; returns how many (engines with native expiry return 0). */
  sweepExpired(now: number): Promise<number>;
  close(): Promise<void>;
}

/** Serializes async sections per key within this process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).catch(() => {}).then(fn);
    this.tails.set(key, next);
    void next
      .finally(() => {
        if (this.tails.get(key) === next) this.tails.delete(key);
      })
      .catch(() => {});
    return next;
  }
}
