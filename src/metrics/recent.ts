// What the dashboard shows about recent invocations: per function, calls, errors, latency
// percentiles, providers and sealed/plain, over the last minutes (10-second buckets, so a chart
// can draw them) and since start. Latencies go into log-scale sketches (each bucket ~4% wide), so
// memory is bounded however many calls arrive and percentiles merge across buckets.

/** Log-scale latency buckets from 0.05 ms: bucket i holds [0.05·1.04^i, 0.05·1.04^(i+1)) ms. */
const BASE_MS = 0.05;
const GROWTH = Math.log(1.04);

export class LatencySketch {
  private readonly counts = new Map<number, number>();
  count = 0;

  add(ms: number): void {
    const index = ms <= BASE_MS ? 0 : Math.floor(Math.log(ms / BASE_MS) / GROWTH);
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
    this.count++;
  }

  merge(other: LatencySketch): this {
    for (const [index, n] of other.counts)
      this.counts.set(index, (this.counts.get(index) ?? 0) + n);
    this.count += other.count;
    return this;
  }

  /** The q-quantile (0..1) in ms, as its bucket's geometric middle; null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index)!;
      if (seen >= rank) return Math.round(BASE_MS * Math.exp(GROWTH * (index + 0.5)) * 1000) / 1000;
    }
    return null;
  }
}

export interface Invocation {
  fn: string;
  /** `ok`, or the kind of failure (invalid_input, declined, state_unreachable, …). */
  outcome: string;
  /** Which model answered (cerebras, claude-fallback, local), or "none" for a refusal. */
  provider: string;
  /** plain, sealed, or session (called from an AgentScript session). */
  mode: string;
  durationMs: number;
}

class Tally {
  calls = 0;
  errors = 0;
  readonly latency = new LatencySketch();
  readonly providers: Record<string, number> = {};
  readonly modes: Record<string, number> = {};

  add(call: Invocation): void {
    this.calls++;
    if (call.outcome !== "ok") this.errors++;
    this.latency.add(call.durationMs);
    this.providers[call.provider] = (this.providers[call.provider] ?? 0) + 1;
    this.modes[call.mode] = (this.modes[call.mode] ?? 0) + 1;
  }

  merge(other: Tally): this {
    this.calls += other.calls;
    this.errors += other.errors;
    this.latency.merge(other.latency);
    for (const [k, n] of Object.entries(other.providers))
      this.providers[k] = (this.providers[k] ?? 0) + n;
    for (const [k, n] of Object.entries(other.modes)) this.modes[k] = (this.modes[k] ?? 0) + n;
    return this;
  }

  summary() {
    return {
      calls: this.calls,
      errors: this.errors,
      errorRate: this.calls === 0 ? 0 : this.errors / this.calls,
      p50Ms: this.latency.quantile(0.5),
      p95Ms: this.latency.quantile(0.95),
      providers: { ...this.providers },
      modes: { ...this.modes },
    };
  }
}

export type TallySummary = ReturnType<Tally["summary"]>;

export interface SeriesPoint {
  /** Bucket start, ms since the epoch. */
  t: number;
  calls: number;
  errors: number;
  p95Ms: number | null;
}

export const BUCKET_MS = 10_000;

export class RecentInvocations {
  private readonly buckets = new Map<number, Map<string, Tally>>();
  private readonly sinceStart = new Map<string, Tally>();

  constructor(
    /** How many buckets are kept: 90 × 10 s = the last 15 minutes. */
    private readonly keep = 90,
    private readonly now: () => number = Date.now,
  ) {}

  record(call: Invocation): void {
    const start = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    let bucket = this.buckets.get(start);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(start, bucket);
      for (const old of this.buckets.keys())
        if (old <= start - this.keep * BUCKET_MS) this.buckets.delete(old);
    }
    tallyOf(bucket, call.fn).add(call);
    tallyOf(this.sinceStart, call.fn).add(call);
  }

  /** Per function: the last `windowMs` and since start. */
  byFunction(windowMs: number): { fn: string; window: TallySummary; sinceStart: TallySummary }[] {
    const from = this.now() - windowMs;
    return [...this.sinceStart.keys()].sort().map((fn) => {
      const window = new Tally();
      for (const [start, bucket] of this.buckets)
        if (start + BUCKET_MS > from) window.merge(bucket.get(fn) ?? new Tally());
      return { fn, window: window.summary(), sinceStart: this.sinceStart.get(fn)!.summary() };
    });
  }

  /** Every kept bucket, oldest first, all functions together (empty buckets included). */
  series(): SeriesPoint[] {
    const last = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    const points: SeriesPoint[] = [];
    for (let t = last - (this.keep - 1) * BUCKET_MS; t <= last; t += BUCKET_MS) {
      const all = new Tally();
      for (const tally of this.buckets.get(t)?.values() ?? []) all.merge(tally);
      points.push({ t, calls: all.calls, errors: all.errors, p95Ms: all.latency.quantile(0.95) });
    }
    return points;
  }
}

function tallyOf(map: Map<string, Tally>, fn: string): Tally {
  let tally = map.get(fn);
  if (!tally) map.set(fn, (tally = new Tally()));
  return tally;
}
