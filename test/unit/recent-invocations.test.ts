// The dashboard's recent-call statistics: percentiles within the sketch's 4 % buckets, the
// window and series by 10-second bucket, old buckets dropped, memory bounded by distinct
// latencies rather than by calls.
import { describe, expect, test } from "bun:test";
import { BUCKET_MS, LatencySketch, RecentInvocations } from "../../src/metrics/index.ts";

const call = (
  durationMs: number,
  over: Partial<{ outcome: string; provider: string; mode: string }> = {},
) => ({ fn: "f", outcome: "ok", provider: "local", mode: "plain", durationMs, ...over });

describe("LatencySketch", () => {
  test("quantiles are within 4 % of the exact ones", () => {
    const sketch = new LatencySketch();
    const values = Array.from({ length: 10_000 }, (_, i) => 0.2 + i * 0.37);
    for (const v of values) sketch.add(v);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      expect(Math.abs(sketch.quantile(q)! - exact) / exact).toBeLessThan(0.04);
    }
    expect(new LatencySketch().quantile(0.5)).toBeNull();
  });

  test("a million calls of the same few latencies keep a handful of buckets", () => {
    const sketch = new LatencySketch();
    for (let i = 0; i < 1_000_000; i++) sketch.add([1, 10, 100][i % 3]!);
    expect(sketch.count).toBe(1_000_000);
    expect((sketch as unknown as { counts: Map<number, number> }).counts.size).toBe(3);
  });

  test("zero, negative and sub-resolution latencies land in the first bucket", () => {
    const sketch = new LatencySketch();
    for (const v of [0, -5, 0.001]) sketch.add(v);
    expect(sketch.quantile(1)).toBeLessThan(0.06);
  });
});

describe("RecentInvocations", () => {
  test("window, since start, errors, providers, modes and the series by bucket", () => {
    let now = 1_000 * BUCKET_MS;
    const recent = new RecentInvocations(90, () => now);
    recent.record(call(5));
    recent.record(call(7, { outcome: "crashed", provider: "none", mode: "sealed" }));
    now += 20 * 60_000; // 20 minutes later: the first two left the 15-minute series
    recent.record(call(9, { provider: "cerebras" }));
    const [f] = recent.byFunction(5 * 60_000);
    expect(f!.window).toMatchObject({
      calls: 1,
      errors: 0,
      providers: { cerebras: 1 },
      modes: { plain: 1 },
    });
    expect(f!.sinceStart).toMatchObject({
      calls: 3,
      errors: 1,
      errorRate: 1 / 3,
      providers: { local: 1, none: 1, cerebras: 1 },
      modes: { plain: 2, sealed: 1 },
    });
    const series = recent.series();
    expect(series).toHaveLength(90);
    expect(series.reduce((n, p) => n + p.calls, 0)).toBe(1);
    expect(series.at(-1)).toMatchObject({ calls: 1, errors: 0 });
    expect(series.at(-1)!.t % BUCKET_MS).toBe(0);
    expect((recent as unknown as { buckets: Map<number, unknown> }).buckets.size).toBe(1);
  });
});
