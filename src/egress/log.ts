// The egress log: one entry per outbound attempt, hash-chained so that a removed or edited
// entry breaks every digest after it (DESIGN "Provenance, receipts and the public egress log":
// seq from 1 per instance, prev of seq 1 is 64 zeros, digest = SHA-256(JCS(entry without
// digest))). Bodies are recorded only as byte counts and SHA-256. Each entry also goes to the
// invocation that caused it (its receipt lists them) and to live subscribers (GET /egress-log
// readers, the dashboard).
import { canonicalJson } from "../../sdk/crypto/canonical-json.ts";
import { GENESIS_DIGEST } from "../../sdk/wire/egress-log.ts";
import { currentCaller } from "./context.ts";

export interface EgressRecord {
  time: string;
  app: string;
  fn: string;
  method: string;
  /** `https`, `http`; for a refused channel other than fetch, what it would have spoken (`tcp`, `unix`, …). */
  scheme: string;
  host: string;
  /** URL path only; query parameter names are kept, their values never. */
  path: string;
  queryKeys: string[];
  status: number | null;
  requestBytes: number;
  responseBytes: number;
  requestSha256: string | null;
  responseSha256: string | null;
  durationMs: number;
  allowed: boolean;
  /** Why the call was refused or failed (policy, timeout, size), never upstream content. */
  error?: string;
}

export interface EgressEntry extends EgressRecord {
  seq: number;
  prev: string;
  digest: string;
}

export interface HostStats {
  scheme: string;
  host: string;
  calls: number;
  blocked: number;
  requestBytes: number;
  responseBytes: number;
  lastSeen: string;
}

/** The digest of an entry: SHA-256 over the canonical JSON of everything but the digest. */
export function entryDigest(entry: Omit<EgressEntry, "digest">): string {
  return new Bun.CryptoHasher("sha256").update(canonicalJson(entry)).digest("hex");
}

export interface LogHead {
  seq: number;
  digest: string;
}

/** A page of the public log, or where the in-memory window starts when `fromSeq` is older. */
export type LogPage = { entries: EgressEntry[]; head: LogHead } | { gone: true; oldestSeq: number };

export class EgressLog {
  private entries: EgressEntry[] = [];
  private seq = 0;
  private head = GENESIS_DIGEST;
  private readonly stats = new Map<string, HostStats>(); // key: app \0 scheme \0 host
  private readonly listeners = new Set<(entry: EgressEntry) => void>();

  /**
   * Keeps the newest `capacity` entries in memory; the chain head and per-host totals cover
   * all. `instanceId` names this chain (seq restarts from 1 in each instance and process).
   */
  constructor(
    private readonly capacity = 10_000,
    private id = `process-${crypto.randomUUID()}`,
  ) {}

  get instanceId(): string {
    return this.id;
  }

  /** Names the chain after the TEE's instance; once something is recorded, the name stays. */
  nameInstance(id: string): void {
    if (this.seq === 0) this.id = id;
  }

  record(record: EgressRecord): EgressEntry {
    const unsigned = { ...record, seq: ++this.seq, prev: this.head };
    const entry: EgressEntry = { ...unsigned, digest: entryDigest(unsigned) };
    this.head = entry.digest;
    this.entries.push(entry);
    if (this.entries.length > this.capacity)
      this.entries.splice(0, this.entries.length - this.capacity);

    const key = `${record.app}\0${record.scheme}\0${record.host}`;
    const stats = this.stats.get(key) ?? {
      scheme: record.scheme,
      host: record.host,
      calls: 0,
      blocked: 0,
      requestBytes: 0,
      responseBytes: 0,
      lastSeen: record.time,
    };
    if (record.allowed) stats.calls++;
    else stats.blocked++;
    stats.requestBytes += record.requestBytes;
    stats.responseBytes += record.responseBytes;
    stats.lastSeen = record.time;
    this.stats.set(key, stats);
    currentCaller()?.caused?.push(entry);
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  headDigest(): string {
    return this.head;
  }

  get logHead(): LogHead {
    return { seq: this.seq, digest: this.head };
  }

  /** Entries from `fromSeq` on (at most `limit`); 410-style answer when they left the window. */
  page(fromSeq: number, limit: number): LogPage {
    const oldestSeq = this.entries[0]?.seq ?? this.seq + 1;
    if (fromSeq < oldestSeq) return { gone: true, oldestSeq };
    const start = fromSeq - oldestSeq;
    return { entries: this.entries.slice(start, start + limit), head: this.logHead };
  }

  /** The oldest seq still in memory (the head's seq + 1 when empty). */
  get oldestSeq(): number {
    return this.entries[0]?.seq ?? this.seq + 1;
  }

  /** Calls `listener` with every new entry; returns the unsubscribe function. */
  subscribe(listener: (entry: EgressEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Entries still in memory, oldest first, optionally for one app. */
  list(app?: string): EgressEntry[] {
    return app === undefined ? [...this.entries] : this.entries.filter((e) => e.app === app);
  }

  hostStats(app: string): HostStats[] {
    return [...this.stats.entries()]
      .filter(([key]) => key.startsWith(`${app}\0`))
      .map(([, s]) => ({ ...s }));
  }
}
