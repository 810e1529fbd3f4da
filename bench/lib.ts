// What every benchmark shares: timed samples, percentiles, and a recorder that keeps each figure
// with its unit (and target, when an issue set one) for the table and bench/results.json.
import { cpus, totalmem, release } from "node:os";

export const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
export const WARMUP = Math.min(200, ITERATIONS);

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Sequential samples of `run` after a warm-up: p50 and p99 in ms. */
export async function sample(
  run: (i: number) => Promise<unknown> | unknown,
  iterations = ITERATIONS,
  warmup = WARMUP,
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < warmup; i++) await run(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await run(i);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

export interface Target {
  /** The figure must be below (`<`), at most (`<=`) or at least (`>=`) this value, in its unit. */
  op: "<" | "<=" | ">=";
  value: number;
  /** Where the target comes from, e.g. "issue 5". */
  source: string;
}

export interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  p99?: number;
  target?: Target;
  met?: boolean;
}

export class Recorder {
  readonly figures: Figure[] = [];

  add(
    id: string,
    label: string,
    value: number,
    unit: string,
    extra: { p99?: number; target?: Target } = {},
  ): number {
    const figure: Figure = {
      id,
      label,
      value: round(value),
      unit,
      ...(extra.p99 !== undefined ? { p99: round(extra.p99) } : {}),
    };
    if (extra.target) {
      figure.target = extra.target;
      const { op, value: bound } = extra.target;
      figure.met = op === "<" ? value < bound : op === "<=" ? value <= bound : value >= bound;
    }
    this.figures.push(figure);
    const target = figure.target
      ? `   target ${figure.target.op} ${figure.target.value} (${figure.target.source}): ${figure.met ? "met" : "MISSED"}`
      : "";
    console.log(
      `${label.padEnd(64)} ${String(figure.value).padStart(10)} ${unit}${figure.p99 !== undefined ? ` (p99 ${figure.p99})` : ""}${target}`,
    );
    return value;
  }

  section(title: string): void {
    console.log(`\n${title}`);
  }
}

const round = (n: number) => (Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 1000) / 1000);

export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    bun: Bun.version,
  };
}

/** RSS of another process, from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await Bun.file(`/proc/${pid}/status`).text())![1]) * 1024;
}
