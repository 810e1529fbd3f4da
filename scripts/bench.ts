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

// Encryption: the server's half of a session handshake, and sealing 1 KB events vs plaintext.
const { EncryptedChannel } = await import("../src/sessions/channel.ts");
const { deriveP256KeyPair, keyId } = await import("../src/crypto/keys.ts");
const { toBase64Url } = await import("../src/crypto/encoding.ts");
const identity = deriveP256KeyPair(crypto.getRandomValues(new Uint8Array(32)), "auditor/identity/v1");
const clientPair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
const clientKey = toBase64Url(new Uint8Array(await crypto.subtle.exportKey("raw", clientPair.publicKey)));
console.log(`\nEncryption (${ITERATIONS} handshakes after ${WARMUP} warm-up)`);
await measure("server handshake: ephemeral ECDH + HKDF + ECDSA signature", (i) => EncryptedChannel.create(`ses_bench_${i}`, clientKey, identity, keyId(identity.publicKey)));
// Stream throughput: the real session routes on loopback, a runner that emits 1 KB stdout events
// as fast as it can, and a client that reads the NDJSON stream to its end.
const { Hono: StreamHono } = await import("hono");
const { sessionRoutes } = await import("../src/http/routes/sessions.ts");
const { DEFAULT_SESSION_SERVER_LIMITS, SessionManager } = await import("../src/sessions/manager.ts");
const { ToolRegistry } = await import("../src/runtime/index.ts");
const { createLogger } = await import("../src/log.ts");
const EVENTS = 20_000;
const text = "x".repeat(1024 - 80); // with the line's other fields, ~1 KB per plaintext event
const floodRunner = async (_code: string, options: { onEvent?: (e: { type: "stdout"; text: string }) => void }) => {
  for (let i = 0; i < EVENTS; i++) options.onEvent?.({ type: "stdout", text });
  return { ok: true as const, value: null, stats: { durationMs: 0, toolCallCount: 0, stdoutBytes: EVENTS * text.length, sandboxBytesIn: 0 } };
};
const floodManager = new SessionManager(new ToolRegistry(), { ...DEFAULT_SESSION_SERVER_LIMITS, bufferEvents: EVENTS + 10 }, floodRunner);
const floodApp = new StreamHono().route("/", sessionRoutes({ manager: floodManager, apiKeys: [], disconnectGraceMs: 30_000, log: createLogger("error"), identity, kid: keyId(identity.publicKey) }));
const floodServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: floodApp.fetch, idleTimeout: 0 });
const streamRate = async (label: string, encryption: object | undefined, target: { port?: number }, code = "return 1") => {
  const samples: number[] = [];
  let bytes = 0;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${target.port}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ protocolVersion: 1, code, limits: { maxStdoutBytes: 64 * 1024 * 1024, cpuMs: 60_000 }, ...(encryption ? { encryption } : {}) }) });
    bytes = (await res.arrayBuffer()).byteLength;
    samples.push(EVENTS / ((performance.now() - started) / 1000));
  }
  samples.sort((a, b) => a - b);
  const rate = samples[2]!;
  console.log(`${label.padEnd(40)} ${rate.toFixed(0)} events/s   ${((rate * bytes) / EVENTS / 1024 / 1024).toFixed(1)} MB/s (median of 5 streams of ${EVENTS})`);
  return rate;
};
const plainRate = await streamRate("plaintext stream, 1 KB events", undefined, floodServer);
const sealedRate = await streamRate("encrypted stream, 1 KB events", { mode: "required", clientPublicKey: clientKey }, floodServer);
console.log(`synthetic producer (framing cost only): encrypted / plaintext ${((sealedRate / plainRate) * 100).toFixed(0)} %`);
floodServer.stop(true);

// The same, with the events made by a real script: console.log in QuickJS, on the worker pool.
const { RuntimePool: StreamPool } = await import("../src/runtime/pool.ts");
const streamPool = new StreamPool(1);
const scriptLimits = { ...DEFAULT_SESSION_SERVER_LIMITS, bufferEvents: EVENTS + 10, maxima: { ...DEFAULT_SESSION_SERVER_LIMITS.maxima, maxStdoutBytes: 64 * 1024 * 1024, cpuMs: 60_000 } };
const scriptManager = new SessionManager(new ToolRegistry(), scriptLimits, (code, options) => streamPool.run(code, options));
const scriptApp = new StreamHono().route("/", sessionRoutes({ manager: scriptManager, apiKeys: [], disconnectGraceMs: 30_000, log: createLogger("error"), identity, kid: keyId(identity.publicKey) }));
const scriptServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: scriptApp.fetch, idleTimeout: 0 });
const FLOOD_SCRIPT = `const line = "${"x".repeat(1024 - 90)}"; for (let i = 0; i < ${EVENTS}; i++) { console.log(line); } return 1;`;
const plainScript = await streamRate("plaintext stream from a script", undefined, scriptServer, FLOOD_SCRIPT);
const sealedScript = await streamRate("encrypted stream from a script", { mode: "required", clientPublicKey: clientKey }, scriptServer, FLOOD_SCRIPT);
console.log(`real script: encrypted / plaintext ${((sealedScript / plainScript) * 100).toFixed(0)} %`);
scriptServer.stop(true);
streamPool.terminate();
