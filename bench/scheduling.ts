// Fair scheduling against the real server process: trivial sessions (`return 1`) started while
// N sessions burn their whole CPU budget, and how those busy sessions end. A busy session must
// never delay another's start (issue 20); each hog must end at its own limit (issue 17).
import { startAuditor } from "../test/helpers/auditor-process.ts";
import { percentile, type Recorder } from "./lib.ts";

const HOG_CPU_MS = 2_000;
const TRIVIAL_SAMPLES = 40;

export async function benchScheduling(r: Recorder): Promise<void> {
  r.section(
    `Scheduling: trivial sessions beside busy ones (each busy session: for (;;) {} with cpuMs ${HOG_CPU_MS})`,
  );
  const server = await startAuditor({
    env: { AUDITOR_TEE: "dev", AUDITOR_RATE_LIMIT_PER_MIN: "1000000" },
  });
  const session = async (code: string, limits?: object) => {
    const text = await (
      await fetch(`${server.url}/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ protocolVersion: 1, code, limits }),
      })
    ).text();
    return JSON.parse(text.trimEnd().split("\n").at(-1)!).payload as {
      ok: boolean;
      error?: { code: string };
      stats: { durationMs: number };
    };
  };
  try {
    await session("return 1"); // warm
    for (const busy of [2, 8]) {
      const started = performance.now();
      const hogs = Array.from({ length: busy }, () =>
        session("for (;;) {}", { cpuMs: HOG_CPU_MS, timeoutMs: 60_000 }).then((final) => ({
          final,
          wall: performance.now() - started,
        })),
      );
      await Bun.sleep(300); // every hog is in its slice
      const samples: number[] = [];
      for (let i = 0; i < TRIVIAL_SAMPLES; i++) {
        const t = performance.now();
        const final = await session("return 1");
        if (!final.ok) throw new Error(`a trivial session failed: ${final.error?.code}`);
        samples.push(performance.now() - t);
      }
      samples.sort((a, b) => a - b);
      const ended = await Promise.all(hogs);
      const atLimit = ended.filter((h) => h.final.error?.code === "cpu_limit").length;
      const walls = ended.map((h) => h.wall).sort((a, b) => a - b);
      r.add(
        `trivial_beside_${busy}_busy_p50`,
        `trivial session beside ${busy} busy ones, p50`,
        percentile(samples, 50),
        "ms",
        { p99: percentile(samples, 99), target: { op: "<", value: 100, source: "issue 20" } },
      );
      r.add(
        `busy_${busy}_ended_at_cpu_limit`,
        `of the ${busy} busy sessions, ended with cpu_limit`,
        atLimit,
        "sessions",
        { target: { op: ">=", value: busy, source: "issue 17" } },
      );
      r.add(
        `busy_${busy}_wall_max`,
        `the last of them ended after (${busy} × ${HOG_CPU_MS} ms of CPU on the machine's cores)`,
        walls.at(-1)!,
        "ms",
      );
    }
  } finally {
    await server.stop();
  }
}
