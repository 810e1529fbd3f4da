// The egress log: one entry per outbound attempt, hash-chained so that a removed or edited
// entry breaks every digest after it. Bodies are recorded only as byte counts and SHA-256.
import { canonicalJson } from "../crypto/canonical-json.ts";

export const GENESIS_DIGEST = "0".repeat(64);

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

export class EgressLog {
  private entries: EgressEntry[] = [];
  private seq = 0;
  private head = GENESIS_DIGEST;
  private readonly stats = new Map<string, HostStats>(); // key: app \0 scheme \0 host

  /** Keeps the newest `capacity` entries in memory; the chain head and per-host totals cover all. */
  constructor(private readonly capacity = 10_000) {}

  record(record: EgressRecord): EgressEntry {
    const unsigned = { ...record, seq: ++this.seq, prev: this.head };
    const entry: EgressEntry = { ...unsigned, digest: entryDigest(unsigned) };
    this.head = entry.digest;
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);

    const key = `${record.app}\0${record.scheme}\0${record.host}`;
    const stats = this.stats.get(key) ?? { scheme: record.scheme, host: record.host, calls: 0, blocked: 0, requestBytes: 0, responseBytes: 0, lastSeen: record.time };
    if (record.allowed) stats.calls++;
    else stats.blocked++;
    stats.requestBytes += record.requestBytes;
    stats.responseBytes += record.responseBytes;
    stats.lastSeen = record.time;
    this.stats.set(key, stats);
    return entry;
  }

  headDigest(): string {
    return this.head;
  }

  /** Entries still in memory, oldest first, optionally for one app. */
  list(app?: string): EgressEntry[] {
    return app === undefined ? [...this.entries] : this.entries.filter((e) => e.app === app);
  }

  hostStats(app: string): HostStats[] {
    return [...this.stats.entries()].filter(([key]) => key.startsWith(`${app}\0`)).map(([, s]) => ({ ...s }));
  }
}

/** Checks that entries link up and that each digest is right. */
export function verifyChain(entries: EgressEntry[], expectedFirstPrev?: string): boolean {
  let prev = expectedFirstPrev ?? entries[0]?.prev;
  for (const entry of entries) {
    const { digest, ...rest } = entry;
    if (entry.prev !== prev || entryDigest(rest) !== digest) return false;
    prev = digest;
  }
  return true;
}
