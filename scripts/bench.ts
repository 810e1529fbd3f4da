// npm run bench: latency numbers for the closing notes. Real processes and real HTTP on
// loopback; the LLM upstream is the local fake (it answers at once, so what remains is ours).
import { startFakeLlm } from "../test/fixtures/fake-llm.ts";
import { startAuditor, tempDir } from "../test/helpers/auditor-process.ts";
import { SealedStore } from "../src/store/index.ts";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const WARMUP = 200;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(label: string, run: (i: number) => Promise<unknown>) {
  for (let i = 0; i < WARMUP; i++) await run(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    await run(i);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const result = { label, p50: percentile(samples, 50), p99: percentile(samples, 99) };
  console.log(`${label.padEnd(58)} p50 ${result.p50.toFixed(3)} ms   p99 ${result.p99.toFixed(3)} ms`);
  return result;
}

const llm = startFakeLlm();
// Default log level (info): one request line per call, as in production.
const server = await startAuditor({
  env: {
    AUDITOR_TEE: "dev",
    OPENROUTER_API_KEY: "sk-or-bench",
    OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
    AUDITOR_RATE_LIMIT_PER_MIN: "1000000",
  },
});

const body = (i: number) => JSON.stringify({ session_id: `bench-${i % 50}`, transcript: "a slow drift of bioluminescent jellyfish over a drowned city", style_tags: "artist:moebius", vj_instruction: "evolve" });
const upstreamBody = JSON.stringify({ model: "openai/gpt-oss-120b", messages: [{ role: "user", content: "x".repeat(1200) }], max_tokens: 300 });

console.log(`generate-prompt overhead (${ITERATIONS} sequential requests after ${WARMUP} warm-up)`);
const direct = await measure("direct POST to the fake upstream", async () => {
  await (await fetch(`${llm.openrouterBaseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: upstreamBody })).text();
  llm.reset();
});
const invoked = await measure("POST /invoke/generate-prompt (audited egress + sealed state)", async (i) => {
  const res = await fetch(`${server.url}/invoke/generate-prompt`, { method: "POST", headers: { "content-type": "application/json" }, body: body(i) });
  if (res.status !== 200) throw new Error(`invoke failed: ${res.status} ${await res.text()}`);
  await res.text();
  llm.reset();
});
console.log(`added overhead: p50 ${(invoked.p50 - direct.p50).toFixed(3)} ms, p99 ${(invoked.p99 - direct.p99).toFixed(3)} ms`);
await server.stop();
llm.close();

const store = await SealedStore.open(tempDir(), crypto.getRandomValues(new Uint8Array(32)));
const session = { recent_prompts: ["a".repeat(280), "b".repeat(280), "c".repeat(280), "", ""], created_at: Date.now() };
const stateWrite = await measure("sealed state: read + rotate + write one session (in process)", (i) =>
  store.update(`app/etherea/sessions/bench-${i % 50}`, (current: typeof session | undefined) => current ?? session, { ttlMs: 86_400_000 }),
);
store.close();
console.log(`added overhead without the sealed-state write: p50 ≈ ${(invoked.p50 - direct.p50 - stateWrite.p50).toFixed(3)} ms`);

// AgentScript runtime: a 10-tool-call script end to end with in-process tools.
const { runAgentScript } = await import("../src/runtime/index.ts");
const TEN_CALLS = `let total = 0; for (let i = 0; i < 10; i++) { const r = await callTool("add", { i }); total += r.n; } return total;`;
const addTool = async (_name: string, args: unknown) => ({ n: (args as { i: number }).i });
console.log(`\nAgentScript runtime (${ITERATIONS} runs after ${WARMUP} warm-up)`);
const script = await measure("10-tool-call script, end to end", async () => {
  const r = await runAgentScript(TEN_CALLS, { toolHandler: addTool });
  if (!r.ok) throw new Error(`run failed: ${r.error.message}`);
});
const started = performance.now();
for (let i = 0; i < 500; i++) await runAgentScript(TEN_CALLS, { toolHandler: addTool });
console.log(`throughput: ${(500 / ((performance.now() - started) / 1000)).toFixed(0)} scripts/s sequential (p50 ${script.p50.toFixed(3)} ms)`);

// Memory per idle run: N runs each waiting on a tool that has not answered yet.
const IDLE_RUNS = 500;
const waiting: Array<() => void> = [];
Bun.gc(true);
const rssBefore = process.memoryUsage().rss;
const runs = Array.from({ length: IDLE_RUNS }, () =>
  runAgentScript(`const r = await callTool("wait", {}); return r.ok;`, {
    toolHandler: () => new Promise((resolve) => waiting.push(() => resolve({ ok: true }))),
  }),
);
while (waiting.length < IDLE_RUNS) await Bun.sleep(1);
Bun.gc(true);
const rssIdle = process.memoryUsage().rss;
console.log(`memory per idle run waiting on a tool: ${((rssIdle - rssBefore) / IDLE_RUNS / 1024).toFixed(0)} KB (RSS delta over ${IDLE_RUNS} runs)`);
for (const release of waiting) release();
await Promise.all(runs);

// Sessions over HTTP against the real server process (dev TEE: demo tools, pool of workers).
const sessionsServer = await startAuditor({ env: { AUDITOR_TEE: "dev", AUDITOR_RATE_LIMIT_PER_MIN: "1000000", AUDITOR_MAX_SESSIONS: "5000" } });
const TEN_ECHOES = `let total = 0; for (let i = 0; i < 10; i++) { const r = await callTool("echo", { n: i }); total += r.n; } return total;`;
const startSession = (code: string) =>
  fetch(`${sessionsServer.url}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ protocolVersion: 1, code }) });
console.log(`\nSessions over HTTP, real server process (${ITERATIONS} sessions after ${WARMUP} warm-up)`);
const sessionRun = await measure("10-tool-call session: POST /sessions to final", async () => {
  const text = await (await startSession(TEN_ECHOES)).text();
  if (!text.includes('"ok":true')) throw new Error(`session failed: ${text.slice(-300)}`);
});
console.log(`sessions per second (sequential): ${(1000 / sessionRun.p50).toFixed(0)} at p50`);
const CONCURRENT = 8;
const concurrentStarted = performance.now();
await Promise.all(Array.from({ length: CONCURRENT }, async () => {
  for (let i = 0; i < ITERATIONS / CONCURRENT; i++) await (await startSession(TEN_ECHOES)).text();
}));
console.log(`sessions per second (${CONCURRENT} clients in parallel): ${(ITERATIONS / ((performance.now() - concurrentStarted) / 1000)).toFixed(0)}`);
// Auto-ref: ~10 MB of users passed from get_users to process_users, by reference vs through the sandbox.
const BIG_USERS = 180_000;
const REF_RUNS = 20;
const bigRun = async (code: string) => {
  const res = await fetch(`${sessionsServer.url}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ protocolVersion: 1, code, refPolicy: { resolveReturned: false } }) });
  const final = JSON.parse((await res.text()).trimEnd().split("\n").at(-1)!);
  if (!final.payload.ok) throw new Error(`session failed: ${JSON.stringify(final.payload.error)}`);
  return final.payload.stats.sandboxBytesIn as number;
};
console.log(`\n~10 MB tool result through two tools (${BIG_USERS} users, ${REF_RUNS} sessions each)`);
for (const [label, code] of [
  ["auto-ref (users only passed on)", `const users = await callTool('get_users', { count: ${BIG_USERS} }); return await callTool('process_users', { users });`],
  ["materialized (users.length read)", `const users = await callTool('get_users', { count: ${BIG_USERS} }); const n = users.length; return await callTool('process_users', { users });`],
] as const) {
  let bytesIn = 0;
  const samples: number[] = [];
  for (let i = 0; i < REF_RUNS; i++) {
    const t = performance.now();
    bytesIn = await bigRun(code);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  console.log(`${label.padEnd(40)} p50 ${percentile(samples, 50).toFixed(1)} ms   into the sandbox ${bytesIn.toLocaleString("en")} bytes`);
}
await sessionsServer.stop();

// Memory: a fresh server process, 1,000 sessions each waiting on a tool (the client's input).
const rssOf = async (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(await Bun.file(`/proc/${pid}/status`).text())![1]) * 1024;
const memoryServer = await startAuditor({ env: { AUDITOR_TEE: "dev", AUDITOR_RATE_LIMIT_PER_MIN: "1000000", AUDITOR_MAX_SESSIONS: "5000" } });
const warm = await (await fetch(`${memoryServer.url}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ protocolVersion: 1, code: "return 1" }) })).text();
if (!warm.includes('"ok":true')) throw new Error("warm-up session failed");
const rssBase = await rssOf(memoryServer.proc.pid);
const WAITING = 1_000;
// Raw sockets: fetch's connection pool would queue long-lived streams beyond its socket limit.
const waitBody = JSON.stringify({ protocolVersion: 1, code: `return await callTool("input", {});` });
const port = Number(new URL(memoryServer.url).port);
const streams = Array.from({ length: WAITING }, () => ({ text: "" }));
const sockets = await Promise.all(
  streams.map((stream) =>
    Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, chunk) => void (stream.text += chunk.toString()) } }).then((socket) => {
      socket.write(`POST /sessions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(waitBody)}\r\n\r\n${waitBody}`);
      return socket;
    }),
  ),
);
while (streams.some((s) => !s.text.includes('"type":"tool_call"'))) await Bun.sleep(10);
const rssWaiting = await rssOf(memoryServer.proc.pid);
console.log(`server RSS with ${WAITING} sessions waiting on a tool: ${(rssWaiting / 1024 / 1024).toFixed(0)} MB (idle server ${(rssBase / 1024 / 1024).toFixed(0)} MB; ${((rssWaiting - rssBase) / WAITING / 1024).toFixed(0)} KB per session)`);
// Answer every one, and check each session completes.
const answered = performance.now();
for (const stream of streams) {
  const sessionId = /"sessionId":"([^"]+)"/.exec(stream.text)![1];
  const token = /"sessionToken":"([^"]+)"/.exec(stream.text)![1];
  const res = await fetch(`${memoryServer.url}/sessions/${sessionId}/input`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ callId: "call_1", value: true }) });
  if (res.status !== 200) throw new Error(`input failed: ${res.status} ${await res.text()}`);
}
while (streams.some((s) => !s.text.includes('"type":"final"'))) await Bun.sleep(10);
console.log(`answered all ${WAITING} over POST /sessions/:id/input and saw every final in ${(performance.now() - answered).toFixed(0)} ms`);
for (const socket of sockets) socket.end();
await memoryServer.stop();
