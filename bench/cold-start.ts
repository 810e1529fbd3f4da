// Cold start of the compiled binary: from spawn to the first served /healthz, its idle RSS, and
// the first session's latency after start, next to a bare Bun.serve compiled the same way
// (bench/bare-serve.ts) in the same run, so what start-up adds over the runtime is a figure.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { buildBinary, COMPILE_FLAGS } from "../scripts/build.ts";
import { sha256File } from "../src/self-digest.ts";
import { baseEnv, tempDir } from "../test/helpers/auditor-process.ts";
import { percentile, rssOf, type Recorder } from "./lib.ts";

const STARTS = 7;
/** Idle figures are read once start-up's deferred work (the worker pool's warm-up) has settled. */
const SETTLE_MS = 1_500;

interface Start {
  /** spawn → first /healthz answered 200 */
  upMs: number;
  upRss: number;
  /** RSS after SETTLE_MS without a request */
  idleRss: number;
  /** POST /sessions `return 1` to its final: right after /healthz, or once settled */
  sessionMs?: number;
  /** RSS SETTLE_MS after that session */
  afterSessionRss?: number;
}

type Plan = "idle" | "session-at-once" | "session-when-settled";

async function start(command: string[], env: Record<string, string>, plan: Plan): Promise<Start> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const t = performance.now();
  const proc = Bun.spawn(command, {
    env: { ...env, PORT: String(port) },
    stdout: "ignore",
    stderr: "ignore",
  });
  const session = async () => {
    const s = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ protocolVersion: 1, code: "return 1" }),
    });
    if (!(await res.text()).includes('"ok":true')) throw new Error("the first session failed");
    return performance.now() - s;
  };
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) break;
      if (performance.now() - t > 10_000)
        throw new Error(`${command[0]} did not come up within 10 s`);
      await Bun.sleep(1);
    }
    const upMs = performance.now() - t;
    const upRss = await rssOf(proc.pid);
    if (plan === "session-at-once")
      return { upMs, upRss, idleRss: Number.NaN, sessionMs: await session() };
    await Bun.sleep(SETTLE_MS);
    const idleRss = await rssOf(proc.pid);
    if (plan === "idle") return { upMs, upRss, idleRss };
    const sessionMs = await session();
    await Bun.sleep(SETTLE_MS);
    return { upMs, upRss, idleRss, sessionMs, afterSessionRss: await rssOf(proc.pid) };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

export async function benchColdStart(r: Recorder, root: string): Promise<void> {
  r.section(
    `The compiled binary (medians over ${STARTS} starts of each kind, each with a fresh data directory)`,
  );
  const built = await buildBinary(root);
  const barePath = join(root, "dist/bench/bare-serve");
  mkdirSync(join(root, "dist/bench"), { recursive: true });
  const bare = Bun.spawnSync(
    [
      process.execPath,
      "build",
      join(import.meta.dir, "bare-serve.ts"),
      ...COMPILE_FLAGS,
      "--outfile",
      barePath,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (bare.exitCode !== 0)
    throw new Error(`building the bare Bun.serve failed: ${bare.stderr.toString()}`);

  const ours: Start[] = [];
  const atOnce: Start[] = [];
  const baseline: Start[] = [];
  const env = () => ({ ...baseEnv(tempDir()), AUDITOR_TEE: "dev", LOG_LEVEL: "error" });
  for (let i = 0; i < STARTS; i++) {
    // Interleaved, so machine load falls on all of them alike.
    baseline.push(await start([barePath], { PATH: process.env.PATH ?? "/usr/bin:/bin" }, "idle"));
    ours.push(await start([built.path], env(), "session-when-settled"));
    atOnce.push(await start([built.path], env(), "session-at-once"));
  }
  const up = median([...ours, ...atOnce].map((s) => s.upMs));
  const bareUp = median(baseline.map((s) => s.upMs));
  const mb = (bytes: number) => bytes / 2 ** 20;
  r.add("binary_cold_start_ms", "spawn → first /healthz answered", up, "ms", {
    target: { op: "<", value: 60, source: "issue 25" },
  });
  r.add(
    "bare_serve_cold_start_ms",
    "baseline: a bare Bun.serve compiled the same way",
    bareUp,
    "ms",
  );
  r.add("ratio_cold_start_vs_bare", "cold start / bare Bun.serve", up / bareUp, "×");
  r.add(
    "binary_first_session_at_once_ms",
    "first session (return 1), sent right after /healthz",
    median(atOnce.map((s) => s.sessionMs!)),
    "ms",
  );
  r.add(
    "binary_first_session_settled_ms",
    `first session (return 1), sent ${SETTLE_MS} ms after /healthz`,
    median(ours.map((s) => s.sessionMs!)),
    "ms",
  );
  r.add(
    "binary_up_rss_mb",
    "RSS of the binary at its first /healthz",
    mb(median([...ours, ...atOnce].map((s) => s.upRss))),
    "MB",
  );
  r.add(
    "binary_idle_rss_mb",
    `idle RSS of the binary, ${SETTLE_MS} ms after start-up`,
    mb(median(ours.map((s) => s.idleRss))),
    "MB",
    { target: { op: "<", value: 70, source: "issue 25" } },
  );
  r.add(
    "binary_rss_after_session_mb",
    `RSS ${SETTLE_MS} ms after its first session`,
    mb(median(ours.map((s) => s.afterSessionRss!))),
    "MB",
  );
  r.add(
    "bare_serve_idle_rss_mb",
    "baseline: idle RSS of the bare Bun.serve",
    mb(median(baseline.map((s) => s.idleRss))),
    "MB",
  );
  r.add("binary_size_mb", "dist/auditor size", mb(Bun.file(built.path).size), "MB");
  // The floor under the cold start: /healthz answers with binarySha256, so the server listens
  // only once it has hashed itself (on its own thread, from the first module on).
  const hashes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await sha256File(built.path);
    hashes.push(performance.now() - t);
  }
  r.add(
    "binary_sha256_ms",
    "SHA-256 of dist/auditor on one thread (start-up waits for it)",
    median(hashes),
    "ms",
  );
}
