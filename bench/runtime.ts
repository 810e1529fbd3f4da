// The AgentScript runtime: a 10-tool-call script end to end, idle memory per run, and the same
// workload in two baselines taken in the same run, so the sandbox's cost is a ratio:
// node:vm (a fresh context per run, no memory or CPU limits, shares the host's heap) and a Bun
// Worker running it as a plain function (our pool's threads and messages, no sandbox).
import { createContext, runInContext } from "node:vm";
import { RuntimePool } from "../src/runtime/pool.ts";
import { runAgentScript } from "../src/runtime/index.ts";
import { ITERATIONS, sample, type Recorder } from "./lib.ts";

const TEN_CALLS = `let total = 0; for (let i = 0; i < 10; i++) { const r = await callTool("add", { i }); total += r.n; } return total;`;
const add = async (_name: string, args: unknown) => ({ n: (args as { i: number }).i });

export async function benchRuntime(r: Recorder): Promise<void> {
  r.section(`AgentScript runtime: a 10-tool-call script, in-process tools (${ITERATIONS} runs)`);
  const quickjs = await sample(async () => {
    const result = await runAgentScript(TEN_CALLS, { toolHandler: add });
    if (!result.ok) throw new Error(result.error.message);
  });
  r.add(
    "runtime_10_calls_p50",
    "QuickJS sandbox (validate, instrument, fresh runtime), p50",
    quickjs.p50,
    "ms",
    { p99: quickjs.p99, target: { op: "<", value: 1, source: "issue 4" } },
  );

  const vm = await sample(async () => {
    const context = createContext({ callTool: add });
    const total = await runInContext(`(async () => { ${TEN_CALLS} })()`, context);
    if (total !== 45) throw new Error("node:vm baseline gave the wrong answer");
  });
  r.add(
    "baseline_node_vm_p50",
    "baseline: node:vm, fresh context per run (no limits), p50",
    vm.p50,
    "ms",
    { p99: vm.p99 },
  );
  r.add(
    "ratio_quickjs_vs_node_vm",
    "QuickJS / node:vm (same workload, same run)",
    quickjs.p50 / vm.p50,
    "×",
  );

  const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 1 });
  const pooled = await sample(async () => {
    const result = await pool.run(TEN_CALLS, { toolHandler: add });
    if (!result.ok) throw new Error(result.error.message);
  });
  pool.terminate();
  r.add(
    "runtime_pool_10_calls_p50",
    "QuickJS in the worker pool (as sessions run), p50",
    pooled.p50,
    "ms",
    { p99: pooled.p99 },
  );

  const worker = new Worker(new URL("./baseline-worker.ts", import.meta.url).href);
  const done = new Map<number, (value: unknown) => void>();
  worker.onmessage = (
    event: MessageEvent<
      | { type: "tool"; call: number; args: { i: number } }
      | { type: "done"; id: number; value: unknown }
    >,
  ) => {
    const message = event.data;
    if (message.type === "tool")
      worker.postMessage({ type: "result", call: message.call, value: { n: message.args.i } });
    else done.get(message.id)?.(message.value);
  };
  let nextRun = 0;
  const plainWorker = await sample(async () => {
    const id = ++nextRun;
    const value = await new Promise((resolve) => {
      done.set(id, resolve);
      worker.postMessage({ type: "run", id, code: TEN_CALLS });
    });
    done.delete(id);
    if (value !== 45) throw new Error("Worker baseline gave the wrong answer");
  });
  worker.terminate();
  r.add(
    "baseline_worker_p50",
    "baseline: Bun Worker, plain async function (no sandbox), p50",
    plainWorker.p50,
    "ms",
    { p99: plainWorker.p99 },
  );
  r.add(
    "ratio_pool_vs_worker",
    "QuickJS pool / plain Worker (same workload, same run)",
    pooled.p50 / plainWorker.p50,
    "×",
  );

  // Memory: runs each waiting on a tool that has not answered yet.
  const IDLE_RUNS = 500;
  const waiting: (() => void)[] = [];
  Bun.gc(true);
  const before = process.memoryUsage().rss;
  const runs = Array.from({ length: IDLE_RUNS }, () =>
    runAgentScript(`const r = await callTool("wait", {}); return r.ok;`, {
      toolHandler: () => new Promise((resolve) => waiting.push(() => resolve({ ok: true }))),
    }),
  );
  while (waiting.length < IDLE_RUNS) await Bun.sleep(1);
  Bun.gc(true);
  r.add(
    "runtime_idle_run_kb",
    "memory per run idling on a tool (RSS delta / 500)",
    (process.memoryUsage().rss - before) / IDLE_RUNS / 1024,
    "KB",
    { target: { op: "<", value: 200, source: "issue 4" } },
  );
  for (const release of waiting) release();
  await Promise.all(runs);
}
