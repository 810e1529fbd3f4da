// npm run soak: sustained mixed load against the compiled binary on loopback, for
// SOAK_MAX_SECONDS (default 180) without a pause: 50 per-user invoke chains (every other call
// sealed) and 8 session clients (plain and encrypted, answering `input`, 10 % cancelled, 10 %
// disconnected mid-stream), then a restart. It fails on every error it counts (HTTP, network,
// protocol, handshake, a session that ends otherwise than it must), on lost sealed state (a
// chain's next call must see its previous prompt, across the restart too), on a 10 s window of
// the load in which some kind of work did not complete, and on RSS growth in the load's steady
// state beyond SOAK_MAX_RSS_GROWTH_MB (default 48).
import { join } from "node:path";
import {
  createClient,
  HttpError,
  SessionFailedError,
  type AuditorClient,
} from "../sdk/client/index.ts";
import type { SessionHandle } from "../sdk/client/session.ts";
import { buildBinary } from "./build.ts";
import { startFakeLlm } from "../test/fixtures/fake-llm.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../test/helpers/auditor-process.ts";
import { percentile, rssOf } from "../bench/lib.ts";

const LOAD_SECONDS = Number(process.env.SOAK_MAX_SECONDS ?? 180);
/**
 * SOAK_MAX_RSS_GROWTH_MB = 48 by default. Memory is in its steady state once the 60 s retention
 * of ended sessions is full (from STEADY_FROM_S, or the load's second half if later): then the
 * median RSS of the last third of the samples may exceed that of the first third by at most
 * this much. Medians, because the collector moves RSS by ±30 MB from sample to sample; runs
 * of 180 s and 600 s with no visible trend moved the medians by 20-26 MB, and the bound is
 * about twice that. The thirds lie ~70 s apart at the default 180 s (~600 s apart at 1800 s),
 * so at ~100 sessions and ~1,000 invokes a second a leak of ~7 KB a session or ~700 bytes an
 * invoke fails it (a tenth of that in a 30-minute run).
 */
const MAX_RSS_GROWTH_MB = Number(process.env.SOAK_MAX_RSS_GROWTH_MB ?? 48);
const STEADY_FROM_S = 75;
const CHAINS = 50;
const SESSION_CLIENTS = 8;
/** The server's disconnect grace (AUDITOR_DISCONNECT_GRACE_MS below), and how long after it to look. */
const DISCONNECT_GRACE_MS = 2_000;
const DISCONNECT_CHECK_MS = DISCONNECT_GRACE_MS + 2_000;
/** Ended sessions stay readable this long (SessionManager's retainEndedMs), then are disposed. */
const RETENTION_MS = 60_000;
const WINDOW_MS = 10_000;
const RSS_EVERY_MS = 5_000;

const root = join(import.meta.dir, "..");
const errors = new Map<string, number>();
const problems: string[] = [];
const problem = (text: string) => {
  if (problems.length < 50) problems.push(text);
  else if (problems.length === 50) problems.push("(further problems not listed)");
};

/** Every error the soak sees is counted by kind and is a failure: the load stays within every limit. */
const failed = (what: string, err: unknown) => {
  const kind =
    err instanceof HttpError
      ? `${err.name} ${err.status}${err.code ? ` ${err.code}` : ""}`
      : ((err as Error)?.name ?? "unknown");
  errors.set(kind, (errors.get(kind) ?? 0) + 1);
  problem(`${what}: ${kind}: ${(err as Error)?.message ?? String(err)}`);
};

const binary = await buildBinary(root);
const llm = startFakeLlm();
const dataDir = tempDir("auditor-soak-");
const env = {
  AUDITOR_TEE: "dev",
  OPENROUTER_API_KEY: "sk-or-soak",
  OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
  AUDITOR_RATE_LIMIT_PER_MIN: "1000000",
  AUDITOR_MAX_SESSIONS: "5000",
  AUDITOR_MAX_SESSIONS_PER_CALLER: "5000",
  AUDITOR_MAX_IN_FLIGHT_PER_ADDRESS: "100000",
  AUDITOR_DISCONNECT_GRACE_MS: String(DISCONNECT_GRACE_MS),
};
let server: AuditorProcess = await startAuditor({ command: [binary.path], env, dataDir });
const pinned = async () =>
  createClient({
    baseUrl: server.url,
    pinnedKeys: [(await createClient({ baseUrl: server.url }).attestation()).statement.kid],
  });
let client: AuditorClient = await pinned();

/** Completed work per 10 s window of the load, by kind: a window without some kind is a stall. */
const windows: Record<string, number>[] = [];
let loadStarted = 0;
const done = (kind: string) => {
  const w = Math.floor((performance.now() - loadStarted) / WINDOW_MS);
  windows[w] ??= {};
  windows[w]![kind] = (windows[w]![kind] ?? 0) + 1;
};

// Each chain is one ETHEREA user: calls in order, every other one sealed.
const lastPrompt = new Map<number, string>();
const callsMade = new Map<number, number>();
const latencies: number[] = [];
const marker = (chain: number, call: number) => `soak chain ${chain} call ${call}`;

async function chainCall(chain: number, call: number): Promise<void> {
  const t = performance.now();
  try {
    const result = await client.generatePrompt(
      {
        sessionId: `soak-chain-${String(chain).padStart(12, "0")}`,
        transcript: `${marker(chain, call)}: lanterns over water`,
        styleTags: "",
        vjInstruction: null,
      },
      { sealed: call % 2 === 1 },
    );
    latencies.push(performance.now() - t);
    lastPrompt.set(chain, result.prompt);
    done("invoke");
  } catch (err) {
    failed(marker(chain, call), err);
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
  // Delivered once: the map would otherwise hold every upstream body of a long soak.
  const body = upstreamByMarker.get(key);
  upstreamByMarker.delete(key);
  return body;
}

/** The upstream request of `call` must carry the prompt the chain got from the call before. */
function checkContinuity(chain: number, call: number, previous: string | undefined) {
  if (!previous) return;
  const body = upstreamRequest(marker(chain, call));
  if (!body) return problem(`no upstream request for ${marker(chain, call)}`);
  if (!body.includes(previous))
    problem(`lost state: ${marker(chain, call)} did not see its previous prompt "${previous}"`);
}

/** Every chain calls, one call at a time, until `enough(chain)`. */
async function runChains(enough: (chain: number) => boolean) {
  await Promise.all(
    Array.from({ length: CHAINS }, async (_, chain) => {
      while (!enough(chain)) {
        const call = callsMade.get(chain) ?? 0;
        callsMade.set(chain, call + 1);
        const previous = lastPrompt.get(chain);
        await chainCall(chain, call);
        checkContinuity(chain, call, previous);
        // The fake upstream keeps every request: drop what the continuity check has read.
        if (indexed > 10_000) {
          llm.requests.splice(0, indexed);
          indexed = 0;
        }
      }
    }),
  );
}

const SCRIPT = `const users = await callTool('get_users', { count: 5 }); const answer = await callTool('input', {}); console.log('got', answer); return { n: users.length, answer };`;
const sessionOutcomes = new Map<string, number>();
const disconnectChecks: Promise<void>[] = [];
const outcome = (kind: string) => sessionOutcomes.set(kind, (sessionOutcomes.get(kind) ?? 0) + 1);

/** A dropped client's session must be cancelled by the server once its grace has passed. */
async function checkDisconnected(session: SessionHandle, i: number) {
  await Bun.sleep(DISCONNECT_CHECK_MS);
  try {
    const { state } = await session.state();
    if (state !== "cancelled")
      return problem(`session ${i}: disconnected ${DISCONNECT_CHECK_MS} ms ago, still ${state}`);
    outcome("disconnected, then cancelled");
    done("disconnected");
  } catch (err) {
    failed(`session ${i} (disconnected) state`, err);
  }
}

async function oneSession(i: number) {
  const roll = i % 10; // 0: disconnect, 1: cancel, else answer: every ending, every window
  let session: SessionHandle;
  try {
    session = await client.sessions.start(SCRIPT, i % 2 === 0 ? { encryption: "required" } : {});
  } catch (err) {
    return failed(`session ${i} start`, err);
  }
  try {
    for await (const event of session) {
      if (event.type !== "tool_call" || event.payload.toolName !== "input") continue;
      if (roll === 0) {
        session.close(); // the client vanishes: the server must cancel after its grace window
        disconnectChecks.push(checkDisconnected(session, i));
        return;
      }
      if (roll === 1) {
        const reply = await session.cancel();
        if (reply.state !== "cancelled")
          problem(`session ${i}: the cancel answered state ${reply.state}`);
        break;
      }
      await session.input(event.payload.callId, i);
    }
    const result = await session.result().catch((err) => err);
    if (roll === 1) {
      if (!(result instanceof SessionFailedError && result.code === "cancelled"))
        return problem(`session ${i}: cancelled, but it ended with ${describe(result)}`);
      outcome("cancelled");
      return done("cancelled");
    }
    if (result instanceof Error) return failed(`session ${i}`, result);
    if ((result as { answer?: number })?.answer !== i)
      return problem(`session ${i} returned ${describe(result)}`);
    outcome("completed");
    done("completed");
  } catch (err) {
    failed(`session ${i}`, err);
  }
}

const describe = (value: unknown) =>
  value instanceof Error ? `${value.name}: ${value.message}` : JSON.stringify(value);

const started = performance.now();
await runChains((chain) => (callsMade.get(chain) ?? 0) >= 20); // warm-up: every chain has state
loadStarted = performance.now();
const loadEnd = loadStarted + LOAD_SECONDS * 1000;
const loading = () => performance.now() < loadEnd;
const rss: { atS: number; mb: number }[] = [];
const sampler = setInterval(async () => {
  rss.push({
    atS: Math.round((performance.now() - loadStarted) / 1000),
    mb: Math.round((await rssOf(server.proc.pid)) / 2 ** 20),
  });
}, RSS_EVERY_MS);
let next = 0;
await Promise.all([
  runChains(() => !loading()),
  Promise.all(
    Array.from({ length: SESSION_CLIENTS }, async () => {
      while (loading()) await oneSession(next++);
    }),
  ),
]);
clearInterval(sampler);
await Promise.all(disconnectChecks);

// Steady state: the retention of ended sessions is full, so memory should stay level.
const steady = rss
  .filter((s) => s.atS >= Math.max(STEADY_FROM_S, LOAD_SECONDS / 2))
  .map((s) => s.mb);
const third = Math.floor(steady.length / 3);
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const growth = third >= 2 ? median(steady.slice(-third)) - median(steady.slice(0, third)) : 0;
if (third < 2)
  problem(
    `too short to judge memory: the load must run past ${STEADY_FROM_S} s with at least six RSS samples (every ${RSS_EVERY_MS / 1000} s) after it; SOAK_MAX_SECONDS >= 150`,
  );
if (growth > MAX_RSS_GROWTH_MB)
  problem(`RSS grew ${growth} MB over the load's steady state (bound ${MAX_RSS_GROWTH_MB} MB)`);
// Every 10 s window of the load completed each kind of work (the last, partial one excepted).
const kinds = ["invoke", "completed", "cancelled", "disconnected"];
const fullWindows = Math.floor((LOAD_SECONDS * 1000) / WINDOW_MS);
for (let w = 0; w < fullWindows; w++) {
  for (const kind of kinds)
    if (!windows[w]?.[kind])
      problem(`the load stalled: no ${kind} completed in seconds ${w * 10}–${w * 10 + 10}`);
}
// Memory once the load is over and every ended session has been disposed (stated, not bounded).
await Bun.sleep(RETENTION_MS + 5_000);
const rssQuietMb = Math.round((await rssOf(server.proc.pid)) / 2 ** 20);

// Sealed state survives a restart: each chain's next call still sees its last prompt.
const stopCode = await server.stop();
if (stopCode !== 0) problem(`graceful shutdown: exit code ${stopCode}, expected 0`);
server = await startAuditor({ command: [binary.path], env, dataDir });
client = await pinned();
const target = new Map([...callsMade].map(([chain, calls]) => [chain, calls + 1]));
await runChains((chain) => (callsMade.get(chain) ?? 0) >= target.get(chain)!);

latencies.sort((a, b) => a - b);
const perWindow = (kind: string) => windows.slice(0, fullWindows).map((w) => w?.[kind] ?? 0);
const summary = {
  loadSeconds: LOAD_SECONDS,
  totalSeconds: Math.round((performance.now() - started) / 1000),
  invokes: latencies.length,
  invokeP50Ms: Math.round(percentile(latencies, 50) * 100) / 100,
  invokeP99Ms: Math.round(percentile(latencies, 99) * 100) / 100,
  sessions: Object.fromEntries(sessionOutcomes),
  per10sWindowMin: Object.fromEntries(kinds.map((k) => [k, Math.min(...perWindow(k))])),
  errors: Object.fromEntries(errors),
  rssMb: {
    first: rss[0]?.mb,
    max: Math.max(...rss.map((s) => s.mb)),
    steadyGrowth: growth,
    bound: MAX_RSS_GROWTH_MB,
    endOfLoad: rss.at(-1)?.mb,
    quiet: rssQuietMb,
  },
  rssSamples: rss.map((s) => `${s.atS}s:${s.mb}`).join(" "),
  problems,
};
console.log(JSON.stringify(summary, null, 2));
await server.stop();
llm.close();
console.log(
  problems.length === 0 ? "soak: passed" : `soak: FAILED (${problems.length} problem(s))`,
);
process.exit(problems.length === 0 ? 0 : 1);
