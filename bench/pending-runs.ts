// A child of bench/workloads.ts: starts N runs that each wait on a tool that has not answered,
// in a fresh process (so no earlier run's memory is reused), and prints RSS growth per run in KB.
// Usage: bun bench/pending-runs.ts quickjs|node-vm N
import { createContext, runInContext } from "node:vm";
import { runAgentScript } from "../src/runtime/index.ts";

const [runtime, count] = [process.argv[2], Number(process.argv[3])];
const code = `const r = await callTool("wait", {}); return r.ok;`;
const waiting: (() => void)[] = [];
const wait = () => new Promise((resolve) => waiting.push(() => resolve({ ok: true })));
const start =
  runtime === "quickjs"
    ? () => runAgentScript(code, { toolHandler: wait })
    : () => runInContext(`(async () => { ${code} })()`, createContext({ callTool: wait }));
// One run first, so what every runtime loads once (the QuickJS module, node:vm itself) is not
// counted against the pending ones.
const first = start();
while (waiting.length < 1) await Bun.sleep(1);
waiting.shift()!();
await first;
Bun.gc(true);
const before = process.memoryUsage().rss;
const runs = Array.from({ length: count }, start);
while (waiting.length < count) await Bun.sleep(1);
Bun.gc(true);
console.log((process.memoryUsage().rss - before) / count / 1024);
for (const release of waiting) release();
await Promise.all(runs);
