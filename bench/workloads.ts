// The workloads of the enclave-vm comparison (issue 25), so it can be rerun: each script runs in
// the QuickJS sandbox (fresh runtime per run, tools through the session's ledger and reference
// sidecar) and in node:vm (a fresh context per run, no limits, values shared with the host)
// in the same run, with the same tools, and the ratio is ours to node:vm's.
// W1 ten tool calls; W2 compute; W3 a ~1 MB value between two tools, materialized and by
// reference; W4 `return 1`; then memory per pending run with 200 pending (bench/pending-runs.ts).
// W2 is a 200k-iteration loop plus map/filter/reduce over 10k elements; W3 moves 16,000 users.
import { createContext, runInContext } from "node:vm";
import { runAgentScript, ToolRegistry } from "../src/runtime/index.ts";
import { demoTools } from "../src/sessions/demo-tools.ts";
import { ToolCallLedger } from "../src/sessions/tool-calls.ts";
import { RefSidecar } from "../src/sidecar/refs.ts";
import { ITERATIONS, sample, type Recorder } from "./lib.ts";

/** ~1 MB of JSON: get_users' records are ~62 bytes each. */
const MB_USERS = 16_000;
const PENDING = 200;

interface Workload {
  id: string;
  label: string;
  code: string;
  /** The value both runtimes must return. */
  expect: unknown;
  /** Fewer samples for the heavy ones (each run takes milliseconds). */
  iterations: number;
}

const WORKLOADS: Workload[] = [
  {
    id: "w1_10_calls",
    label: "W1 10 tool calls",
    code: `let total = 0; for (let i = 0; i < 10; i++) { const r = await callTool("echo", { n: i }); total += r.n; } return total;`,
    expect: 45,
    iterations: ITERATIONS,
  },
  {
    id: "w2_compute",
    label: "W2 compute",
    code: [
      "let sum = 0;",
      "for (let i = 0; i < 200000; i++) { sum += i % 7; }",
      "const xs = Array.from({ length: 10000 }, (_, i) => i);",
      "return sum + xs.map((x) => x * 2).filter((x) => x % 3 === 0).reduce((a, x) => a + x, 0);",
    ].join("\n"),
    expect: 599_994 + 33_336_666,
    iterations: Math.ceil(ITERATIONS / 10),
  },
  {
    id: "w3_1mb_materialized",
    label: "W3 1 MB materialized",
    code: `const users = await callTool("get_users", { count: ${MB_USERS} }); const n = users.length; const r = await callTool("process_users", { users }); return r.count + n;`,
    expect: 2 * MB_USERS,
    iterations: Math.ceil(ITERATIONS / 10),
  },
  {
    id: "w3_1mb_by_ref",
    label: "W3 1 MB by reference",
    code: `const users = await callTool("get_users", { count: ${MB_USERS} }); const r = await callTool("process_users", { users }); return r.count;`,
    expect: MB_USERS,
    iterations: Math.ceil(ITERATIONS / 10),
  },
  { id: "w4_return_1", label: "W4 return 1", code: "return 1", expect: 1, iterations: ITERATIONS },
];

/** The sandbox as a session runs it: broker, ledger (idempotency) and sidecar (refs) included. */
function quickjsRun(tools: ToolRegistry, code: string, limits = {}) {
  const ledger = new ToolCallLedger(tools, new RefSidecar(), new AbortController().signal);
  return runAgentScript(code, { toolHandler: ledger.handler, limits });
}

/** The same script in a fresh node:vm context, calling the same registry. */
function nodeVmRun(tools: ToolRegistry, code: string): Promise<unknown> {
  const context = createContext({
    callTool: (name: string, args: unknown) => tools.call(name, args),
  });
  return runInContext(`(async () => { ${code} })()`, context);
}

export async function benchWorkloads(r: Recorder): Promise<void> {
  r.section(
    "The enclave-vm workloads: QuickJS sandbox vs node:vm, same script and tools, in process",
  );
  const tools = new ToolRegistry(demoTools());
  for (const w of WORKLOADS) {
    const ours = await sample(
      async () => {
        const result = await quickjsRun(tools, w.code);
        if (!result.ok) throw new Error(`${w.id}: ${result.error.code}: ${result.error.message}`);
        if (result.value !== w.expect)
          throw new Error(`${w.id} returned ${JSON.stringify(result.value)}`);
      },
      w.iterations,
      Math.min(50, w.iterations),
    );
    const vm = await sample(
      async () => {
        const value = await nodeVmRun(tools, w.code);
        if (value !== w.expect)
          throw new Error(`${w.id} (node:vm) returned ${JSON.stringify(value)}`);
      },
      w.iterations,
      Math.min(50, w.iterations),
    );
    r.add(`${w.id}_p50`, `${w.label}, QuickJS p50`, ours.p50, "ms", { p99: ours.p99 });
    r.add(`${w.id}_node_vm_p50`, `${w.label}, node:vm p50`, vm.p50, "ms", { p99: vm.p99 });
    r.add(`${w.id}_ratio_node_vm`, `${w.label}, QuickJS / node:vm`, ours.p50 / vm.p50, "×");
  }
  await pendingMemory(r);
}

/** RSS per run waiting on a tool that has not answered, 200 at once, each runtime in a fresh process. */
async function pendingMemory(r: Recorder): Promise<void> {
  const perRun = async (runtime: "quickjs" | "node-vm") => {
    const child = Bun.spawn(
      [
        process.execPath,
        new URL("./pending-runs.ts", import.meta.url).pathname,
        runtime,
        String(PENDING),
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    const [text, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    if (code !== 0) throw new Error(`bench/pending-runs.ts ${runtime} exited ${code}`);
    return Number(text.trim());
  };
  const ours = await perRun("quickjs");
  const vm = await perRun("node-vm");
  r.add("pending_run_kb", `memory per pending run, ${PENDING} pending, QuickJS`, ours, "KB");
  r.add("pending_run_node_vm_kb", `memory per pending run, ${PENDING} pending, node:vm`, vm, "KB");
  r.add("pending_run_ratio_node_vm", "memory per pending run, QuickJS / node:vm", ours / vm, "×");
}
