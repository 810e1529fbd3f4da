// A shared state store going away, for longer than every client timeout and reconnect budget
// (Bun's Redis client used to give up after ~31 s, for good), then frozen (it keeps its
// sockets but answers nothing), each time coming back: meanwhile every function call answers
// a JSON 503 state_unavailable with Retry-After (never a hang, never a 500), /readyz says the
// store is not ready and /healthz that the process is alive; afterwards the server recovers by
// itself, without a restart, and every acknowledged write is in the store. Private Redis and
// PostgreSQL servers on free ports (test/helpers/private-stores.ts): the shared ones are never
// stopped. The figures (answer times, time to recover) are printed, not asserted.
import { describe, expect, test } from "bun:test";
import { SealedStore } from "../../src/store/index.ts";
import { createDevTee } from "../../src/tee/dev.ts";
import { startAuditor, tempDir } from "../helpers/auditor-process.ts";
import {
  postgresMissing,
  redisMissing,
  startPrivatePostgres,
  startPrivateRedis,
  type PrivateStore,
} from "../helpers/private-stores.ts";

/** Longer than Bun's Redis reconnect budget (20 attempts, ~31 s) and every client timeout. */
const OUTAGE_MS = 35_000;
const FROZEN_MS = 6_000;
/** A guard against hangs (a hung call fails the test), not a timing assertion. */
const HANG_GUARD_MS = 15_000;

const STORES: Record<
  "redis" | "postgres",
  { missing: () => string | undefined; start: () => Promise<PrivateStore> }
> = {
  redis: { missing: redisMissing, start: startPrivateRedis },
  postgres: { missing: postgresMissing, start: startPrivatePostgres },
};

interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
  ms: number;
}

async function scenario(kind: keyof typeof STORES) {
  const store = await STORES[kind].start();
  const dataDir = tempDir();
  const server = await startAuditor({
    dataDir,
    env: {
      AUDITOR_TEE: "dev",
      AUDITOR_STATE_URL: store.url,
      AUDITOR_RATE_LIMIT_PER_MIN: "1000000",
    },
  });
  const figures: Record<string, number> = {};
  const acknowledged = new Map<string, string[]>();
  const invoke = async (session: string): Promise<Answer> => {
    const started = performance.now();
    const res = await fetch(`${server.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ session_id: session, transcript: `a harbour at dawn, ${kind}` }),
      signal: AbortSignal.timeout(HANG_GUARD_MS),
    });
    const answer = {
      status: res.status,
      body: await res.json(),
      retryAfter: res.headers.get("retry-after"),
      ms: performance.now() - started,
    };
    if (answer.status === 200)
      acknowledged.set(session, [...(acknowledged.get(session) ?? []), answer.body.prompt]);
    return answer;
  };
  const readyz = async () => {
    const res = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(HANG_GUARD_MS) });
    return { status: res.status, body: await res.json() };
  };
  const expectUnavailable = (answer: Answer) => {
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: "state_unavailable" });
    expect(answer.body.message).not.toContain(store.url.replace(/^\w+:\/\//, "").split("@")[0]!); // no credentials
    expect(answer.retryAfter).toBe("2");
  };
  /** Calls until one is acknowledged; every answer before it is a clean 503. */
  const recover = async (since: number) => {
    for (;;) {
      const answer = await invoke(crypto.randomUUID());
      if (answer.status === 200) return performance.now() - since;
      expectUnavailable(answer);
      await Bun.sleep(100);
    }
  };
  const sessions = [crypto.randomUUID(), crypto.randomUUID()];
  try {
    for (const session of [...sessions, ...sessions])
      expect((await invoke(session)).status).toBe(200);
    expect(await readyz()).toMatchObject({
      status: 200,
      body: { ready: true, store: { ready: true, kind, health: { ok: true } } },
    });

    // Stopped for longer than every client budget.
    await store.stop();
    const stopped = performance.now();
    let slowest = 0;
    let answers = 0;
    while (performance.now() - stopped < OUTAGE_MS) {
      const answer = await invoke(sessions[answers % 2]!);
      expectUnavailable(answer);
      slowest = Math.max(slowest, answer.ms);
      if (answers++ % 10 === 0) {
        const ready = await readyz();
        expect(ready).toMatchObject({
          status: 503,
          body: {
            ready: false,
            store: { ready: false, health: { ok: false, lastError: "unreachable" } },
            tee: { ready: true },
          },
        });
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      }
      await Bun.sleep(250);
    }
    figures.stoppedAnswers = answers;
    figures.stoppedSlowestMs = Math.round(slowest);
    await store.start();
    figures.recoveredAfterRestartMs = Math.round(await recover(performance.now()));
    for (const session of sessions) expect((await invoke(session)).status).toBe(200);

    // Frozen: connections stay open, nothing answers.
    store.freeze();
    const frozen = performance.now();
    slowest = 0;
    answers = 0;
    while (performance.now() - frozen < FROZEN_MS) {
      const answer = await invoke(crypto.randomUUID());
      expectUnavailable(answer);
      slowest = Math.max(slowest, answer.ms);
      answers++;
      await Bun.sleep(100);
    }
    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.body.store.health.ok).toBe(false);
    expect(["timeout", "unreachable"]).toContain(ready.body.store.health.lastError);
    figures.frozenAnswers = answers;
    figures.frozenSlowestMs = Math.round(slowest);
    store.thaw();
    figures.recoveredAfterThawMs = Math.round(await recover(performance.now()));
    for (const session of sessions) expect((await invoke(session)).status).toBe(200);
    let back = await readyz();
    for (; back.status !== 200; await Bun.sleep(200)) back = await readyz(); // a cached answer may lag
    expect(back.body).toMatchObject({ ready: true, store: { ready: true, health: { ok: true } } });

    // Nothing acknowledged is lost: read the sealed records with the instance's own key.
    const tee = await createDevTee(dataDir);
    const reader = await SealedStore.open(tempDir(), tee.sealingKey(), { url: store.url });
    try {
      for (const [session, prompts] of acknowledged) {
        const stored = await reader.get<{ recent_prompts: string[] }>(
          `app/etherea/sessions/${session}`,
        );
        expect(stored?.recent_prompts.slice(0, prompts.length)).toEqual(
          [...prompts].reverse().slice(0, 5),
        );
      }
    } finally {
      await reader.close();
    }
    console.log(`${kind} outage figures: ${JSON.stringify(figures)}`);
  } finally {
    await server.stop();
    await store.destroy();
  }
}

describe("state store outages", () => {
  for (const kind of ["redis", "postgres"] as const) {
    const missing = STORES[kind].missing();
    if (missing) {
      if (process.env.CI) test(`a private ${kind} can run`, () => expect(missing).toBeUndefined());
      else console.warn(`skipping the ${kind} outage test: ${missing}`);
    }
    test
      .skipIf(missing !== undefined)
      .concurrent(
        `${kind} stopped for ${OUTAGE_MS / 1000} s, then frozen: fast JSON 503s, /readyz not ready, recovery by itself, nothing acknowledged lost`,
        () => scenario(kind),
        OUTAGE_MS + FROZEN_MS + 60_000,
      );
  }
});
