// Cold start of the compiled binary: from spawn to the first served request, and its idle RSS.
import { buildBinary } from "../scripts/build.ts";
import { baseEnv, tempDir } from "../test/helpers/auditor-process.ts";
import { percentile, rssOf, type Recorder } from "./lib.ts";

export async function benchColdStart(r: Recorder, root: string): Promise<void> {
  r.section("The compiled binary");
  const built = await buildBinary(root);
  const samples: number[] = [];
  let rss = 0;
  for (let i = 0; i < 7; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const t = performance.now();
    const proc = Bun.spawn([built.path], { env: { ...baseEnv(tempDir()), PORT: String(port), AUDITOR_TEE: "dev", LOG_LEVEL: "error" }, stdout: "ignore", stderr: "ignore" });
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((res) => res.ok, () => false);
      if (ok) break;
      if (performance.now() - t > 10_000) throw new Error("the binary did not come up within 10 s");
      await Bun.sleep(2);
    }
    samples.push(performance.now() - t);
    rss = await rssOf(proc.pid);
    proc.kill("SIGTERM");
    await proc.exited;
  }
  samples.sort((a, b) => a - b);
  r.add("binary_cold_start_ms", "spawn → first /healthz answered (median of 7)", percentile(samples, 50), "ms");
  r.add("binary_idle_rss_mb", "idle RSS of the binary after start", rss / 2 ** 20, "MB");
  r.add("binary_size_mb", "dist/auditor size", (await Bun.file(built.path).size) / 2 ** 20, "MB");
}
