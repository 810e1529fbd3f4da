// npm run soak: bounded load against the compiled binary on loopback. 10,000 invokes (plain and
// sealed) in 50 per-user chains, and 2,000 sessions (plain and encrypted, with input, random
// cancels and random client disconnects), then a restart. Fails on any 5xx that is not a
// deliberate limit, on lost sealed state (a chain's next call must see its previous prompt, also
// across the restart), and on RSS growth beyond SOAK_MAX_RSS_GROWTH_MB (default 150).
import { join } from "node:path";
import { createClient, HttpError, type AuditorClient } from "../sdk/client/index.ts";
import { buildBinary } from "./build.ts";
import { startFakeLlm } from "../test/fixtures/fake-llm.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../test/helpers/auditor-process.ts";
import { percentile, rssOf } from "../bench/lib.ts";

const INVOKES = Number(process.env.SOAK_INVOKES ?? 10_000);
const SESSIONS = Number(process.env.SOAK_SESSIONS ?? 2_000);
const CHAINS = 50;
const MAX_RSS_GROWTH_MB = Number(process.env.SOAK_MAX_RSS_GROWTH_MB ?? 150);
const DEADLINE = Date.now() + Number(process.env.SOAK_MAX_SECONDS ?? 900) * 1000;

const root = join(import.meta.dir, "..");
const errors = new Map<string, number>();
const problems: string[] = [];
const count = (kind: string) => errors.set(kind, (errors.get(kind) ?? 0) + 1);
/** Statuses the server answers on purpose when a limit is hit: not failures. */
const DELIBERATE = new Set([429, 503]);

const classify = (err: unknown) => {
  if (err instanceof HttpError) {
    count(`http ${err.status}${err.code ? ` ${err.code}` : ""}`);
    if (err.status >= 500 && !DELIBERATE.has(err.status)) problems.push(`unexpected ${err.status}: ${err.message}`);
  } else count((err as Error)?.name ?? "unknown");
};

const binary = await buildBinary(root);
const llm = startFakeLlm();
const dataDir = tempDir("auditor-soak-");
const env = { AUDITOR_TEE: "dev", OPENROUTER_API_KEY: "sk-or-soak", OPENROUTER_BASE_URL: llm.openrouterBaseUrl, AUDITOR_RATE_LIMIT_PER_MIN: "1000000", AUDITOR_MAX_SESSIONS: "5000", AUDITOR_MAX_SESSIONS_PER_CALLER: "5000", AUDITOR_DISCONNECT_GRACE_MS: "2000" };
let server: AuditorProcess = await startAuditor({ command: [binary.path], env, dataDir });
const pinned = async () => createClient({ baseUrl: server.url, pinnedKeys: [(await createClient({ baseUrl: server.url }).attestation()).statement.kid] });
let client: AuditorClient = await pinned();

// Each chain is one ETHEREA user: calls in order, every other one sealed.
const lastPrompt = new Map<number, string>();
const latencies: number[] = [];
const marker = (chain: number, call: number) => `soak chain ${chain} call ${call}`;

async function chainCall(chain: number, call: number): Promise<void> {
  const t = performance.now();
  try {
    const result = await client.generatePrompt({ sessionId: `soak-chain-${String(chain).padStart(12, "0")}`, transcript: `${marker(chain, call)}: lanterns over water`, styleTags: "", vjInstruction: null }, { sealed: call % 2 === 1 });
    latencies.push(performance.now() - t);
    lastPrompt.set(chain, result.prompt);
  } catch (err) {
    classify(err);
  }
}

/** Upstream request bodies by the chain marker in their transcript (indexed as they arrive). */
const upstreamByMarker = new Map<string, string>();
let indexed = 0;
function upstreamRequest(key: string): string | undefined {
  for (; indexed < llm.requests.length; indexed++) {
    const body = llm.requests[indexed]!.body;
    const found = /soak chain \d+ call \d+/.exec(body);
    if (found) upstreamByMarker.set(found[0], body);
  }
  return upstreamByMarker.get(key);
}

/** The upstream request of `call` must carry the prompt the chain got from the call before. */
function checkContinuity(chain: number, call: number, previous: string | undefined) {
  if (!previous) return;
  const body = upstreamRequest(marker(chain, call));
  if (!body) return problems.push(`no upstream request for ${marker(chain, call)}`);
  if (!body.includes(previous)) problems.push(`lost state: ${marker(chain, call)} did not see its previous prompt "${previous}"`);
}

async function runChains(callsPerChain: number, firstCall: number) {
  await Promise.all(
    Array.from({ length: CHAINS }, async (_, chain) => {
      for (let call = firstCall; call < firstCall + callsPerChain && Date.now() < DEADLINE; call++) {
        const previous = lastPrompt.get(chain);
        await chainCall(chain, call);
        checkContinuity(chain, call, previous);
      }
    }),
  );
}

const SCRIPT = `const users = await callTool('get_users', { count: 5 }); const answer = await callTool('input', {}); console.log('got', answer); return { n: users.length, answer };`;
const sessionOutcomes = new Map<string, number>();
async function oneSession(i: number) {
  const outcome = (kind: string) => sessionOutcomes.set(kind, (sessionOutcomes.get(kind) ?? 0) + 1);
  try {
    const session = await client.sessions.start(SCRIPT, i % 2 === 0 ? { encryption: "required" } : {});
    const roll = Math.random();
    for await (const event of session) {
      if (event.type !== "tool_call" || event.payload.toolName !== "input") continue;
      if (roll < 0.1) {
        session.close(); // the client vanishes: the server cancels after its grace window
        return outcome("disconnected");
      }
      if (roll < 0.2) {
        await session.cancel();
        break;
      }
      await session.input(event.payload.callId, i);
    }
    const result = (await session.result().catch((err) => err)) as { answer?: number; code?: string };
    if (roll < 0.2) return outcome(result?.code === "cancelled" ? "cancelled" : `cancel gave ${JSON.stringify(result)}`);
    if (result?.answer !== i) return problems.push(`session ${i} returned ${JSON.stringify(result)}`), outcome("wrong result");
    outcome("completed");
  } catch (err) {
    classify(err);
    outcome("error");
  }
}

const started = performance.now();
await runChains(20, 0); // warm-up
await Bun.sleep(500);
const rssStart = await rssOf(server.proc.pid);
const callsPerChain = Math.ceil(INVOKES / CHAINS);
let next = 0;
await Promise.all([
  runChains(callsPerChain, 20),
  Promise.all(Array.from({ length: 8 }, async () => {
    while (next < SESSIONS && Date.now() < DEADLINE) await oneSession(next++);
  })),
]);
// Ended sessions stay readable for 60 s (resume, refs) and disconnected ones wait out their grace
// window: measure after that, so retention is not mistaken for a leak (nor hides one).
await Bun.sleep(65_000);
Bun.gc(true);
const rssEnd = await rssOf(server.proc.pid);

// Sealed state survives a restart: each chain's next call still sees its last prompt.
expectStatus(await server.stop(), 0, "graceful shutdown");
server = await startAuditor({ command: [binary.path], env, dataDir });
client = await pinned();
await runChains(1, 20 + callsPerChain);

latencies.sort((a, b) => a - b);
const growth = (rssEnd - rssStart) / 2 ** 20;
if (growth > MAX_RSS_GROWTH_MB) problems.push(`RSS grew ${growth.toFixed(0)} MB (bound ${MAX_RSS_GROWTH_MB} MB)`);
if (Date.now() >= DEADLINE) problems.push("the soak hit its time bound before finishing the counts");
const summary = {
  invokes: latencies.length,
  invokeP50Ms: Math.round(percentile(latencies, 50) * 100) / 100,
  invokeP99Ms: Math.round(percentile(latencies, 99) * 100) / 100,
  sessions: Object.fromEntries(sessionOutcomes),
  errors: Object.fromEntries(errors),
  rssStartMb: Math.round(rssStart / 2 ** 20),
  rssEndMb: Math.round(rssEnd / 2 ** 20),
  seconds: Math.round((performance.now() - started) / 1000),
  problems,
};
console.log(JSON.stringify(summary, null, 2));
await server.stop();
llm.close();
console.log(problems.length === 0 ? "soak: passed" : `soak: FAILED (${problems.length} problem(s))`);
process.exit(problems.length === 0 ? 0 : 1);

function expectStatus(actual: number, expected: number, what: string) {
  if (actual !== expected) problems.push(`${what}: exit code ${actual}, expected ${expected}`);
}
