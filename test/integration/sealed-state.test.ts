// generate-prompt's session state in the sealed sqlite store: survives SIGKILL and restarts,
// refuses tampered rows and wrong keys loudly, expires when idle. Plus the rate limit.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, tempDir } from "../helpers/auditor-process.ts";
import { SealedStore, SealedStateError } from "../../src/store/index.ts";
import { sid } from "../helpers/session-id.ts";

let llm: FakeLlm;
beforeAll(() => {
  llm = startFakeLlm();
});
afterAll(() => llm.close());

const env = (extra: Record<string, string> = {}) => ({
  AUDITOR_TEE: "dev",
  OPENROUTER_API_KEY: "sk-or-test",
  OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
  ANTHROPIC_BASE_URL: llm.anthropicBaseUrl,
  ...extra,
});

async function invoke(url: string, session: string, transcript: string) {
  const res = await fetch(`${url}/invoke/generate-prompt`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ session_id: sid(session), transcript }),
  });
  return { status: res.status, body: await res.json() };
}

/** The user message generate-prompt sent upstream last: shows which recent prompts it knew. */
const lastUserMessage = () => JSON.parse(llm.requests.at(-1)!.body).messages[1].content as string;

describe("sealed session state", () => {
  test("survives SIGKILL in the middle of a load and a restart", async () => {
    const dataDir = tempDir();
    const first = await startAuditor({ dataDir, env: env() });
    const acknowledged: string[] = [];
    const load = (async () => {
      for (let i = 0; i < 200; i++) {
        try {
          const r = await invoke(first.url, "kill", `line ${i}`);
          if (r.status === 200) acknowledged.push(r.body.prompt);
        } catch {
          return; // the connection died with the process
        }
      }
    })();
    while (acknowledged.length < 8) await Bun.sleep(5);
    first.proc.kill("SIGKILL");
    await load;
    await first.proc.exited;

    const second = await startAuditor({ dataDir, env: env() });
    try {
      expect((await invoke(second.url, "kill", "after restart")).status).toBe(200);
      // Every acknowledged prompt was committed: the newest is among the recent ones sent now
      // (at most one more, written just before the kill, may precede it).
      const context = lastUserMessage().split("\n\n")[0]!.split("\n").slice(1);
      expect(context.slice(0, 2)).toContain(acknowledged.at(-1)!);
    } finally {
      await second.stop();
    }
  });

  test("a full disk (AUDITOR_STATE_MAX_BYTES) is a clear 507; nothing stored is lost; everything else keeps serving", async () => {
    const dataDir = tempDir();
    const limited = await startAuditor({
      dataDir,
      env: env({ AUDITOR_STATE_MAX_BYTES: "65536", AUDITOR_RATE_LIMIT_PER_MIN: "100000" }),
    });
    let full: { status: number; body: any } | undefined;
    let stored = 0;
    try {
      const first = await invoke(limited.url, "kept", "the first words");
      expect(first.status).toBe(200);
      // New sessions until the store is full: each adds a sealed row.
      for (let i = 0; i < 500 && !full; i++) {
        const res = await invoke(limited.url, `filler-${i}-${"x".repeat(60)}`, "y".repeat(2_000));
        if (res.status === 200) stored++;
        else full = res;
      }
      expect(full?.status).toBe(507);
      expect(full?.body).toMatchObject({ error: "state_full" });
      expect(full?.body.message).toContain("Nothing was lost");
      expect((await fetch(`${limited.url}/attestation`)).status).toBe(200);
      expect((await fetch(`${limited.url}/report/etherea`)).status).toBe(200);
      expect((await fetch(`${limited.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await limited.stop()).toBe(0);
    }
    expect(stored).toBeGreaterThan(3);
    // Given room again, every acknowledged write is there: "kept" still knows its first prompt.
    const roomy = await startAuditor({ dataDir, env: env() });
    try {
      llm.reset();
      expect((await invoke(roomy.url, "kept", "more words")).status).toBe(200);
      expect(lastUserMessage()).toContain("prompt");
      expect(lastUserMessage()).toContain("Recent prompts for context");
    } finally {
      await roomy.stop();
    }
  });

  test("a tampered row is a clear error, and other sessions keep working", async () => {
    const dataDir = tempDir();
    const s1 = await startAuditor({ dataDir, env: env() });
    await invoke(s1.url, "victim", "one");
    await invoke(s1.url, "bystander", "two");
    await invoke(s1.url, "moved", "two");
    await s1.stop();
    const db = new Database(join(dataDir, "state.sqlite"));
    const row = db
      .query<{ ct: Uint8Array }, []>(
        "SELECT ct FROM sealed WHERE key = 'app/etherea/sessions/victim________________'",
      )
      .get()!;
    const flipped = new Uint8Array(row.ct);
    flipped[0]! ^= 1;
    db.query(
      "UPDATE sealed SET ct = ? WHERE key = 'app/etherea/sessions/victim________________'",
    ).run(flipped);
    // Moving a sealed value under another key must fail too (the key is the AAD).
    db.query(
      "UPDATE sealed SET ct = (SELECT ct FROM sealed WHERE key = 'app/etherea/sessions/bystander_____________'), iv = (SELECT iv FROM sealed WHERE key = 'app/etherea/sessions/bystander_____________') WHERE key = 'app/etherea/sessions/moved_________________'",
    ).run();
    db.close();
    const s2 = await startAuditor({ dataDir, env: env() });
    try {
      const victim = await invoke(s2.url, "victim", "three");
      expect(victim.status).toBe(500);
      expect(victim.body).toEqual({
        error: "state_unavailable",
        message: "this function's sealed state cannot be opened",
      });
      expect((await invoke(s2.url, "moved", "three")).body.error).toBe("state_unavailable");
      expect((await invoke(s2.url, "bystander", "four")).status).toBe(200);
      expect(s2.lines.some((l) => l.includes("wrong sealing key or tampered data"))).toBe(true);
    } finally {
      await s2.stop();
    }
  });

  test("the wrong sealing key is refused, never read as empty state", async () => {
    const dataDir = tempDir();
    const s1 = await startAuditor({ dataDir, env: env() });
    await invoke(s1.url, "keyed", "one");
    await s1.stop();
    writeFileSync(join(dataDir, "tee-dev-root.key"), crypto.getRandomValues(new Uint8Array(32)));
    const s2 = await startAuditor({ dataDir, env: env() });
    try {
      expect((await invoke(s2.url, "keyed", "two")).body.error).toBe("state_unavailable");
    } finally {
      await s2.stop();
    }
  });

  test("idle sessions expire after AUDITOR_STATE_IDLE_TTL_MS", async () => {
    const s = await startAuditor({ env: env({ AUDITOR_STATE_IDLE_TTL_MS: "200" }) });
    try {
      await invoke(s.url, "idle", "one");
      await invoke(s.url, "idle", "two");
      expect(lastUserMessage()).toStartWith("Recent prompts for context:");
      await Bun.sleep(400);
      await invoke(s.url, "idle", "three");
      expect(lastUserMessage()).toStartWith("Transcript:\nthree");
    } finally {
      await s.stop();
    }
  });
});

describe("SealedStore", () => {
  test("round-trips JSON, serializes concurrent updates of one key, and sweeps expired rows", async () => {
    let now = 1_000;
    const key = crypto.getRandomValues(new Uint8Array(32));
    const store = await SealedStore.open(tempDir(), key, { now: () => now });
    await store.put("a", { n: 1, s: "é" });
    expect(await store.get("a")).toEqual({ n: 1, s: "é" });
    await Promise.all(
      Array.from({ length: 50 }, () => store.update<number>("counter", (v) => (v ?? 0) + 1)),
    );
    expect(await store.get<number>("counter")).toBe(50);
    await store.put("short", 1, { ttlMs: 10 });
    now += 11;
    expect(await store.sweepExpired()).toBe(1);
    expect(await store.get("short")).toBeUndefined();
    await expect(store.put("bad", undefined)).rejects.toBeInstanceOf(SealedStateError);
    await store.close();
  });
});

describe("rate limit", () => {
  test("a client over its per-minute allowance gets 429 with Retry-After", async () => {
    const s = await startAuditor({ env: { AUDITOR_TEE: "dev", AUDITOR_RATE_LIMIT_PER_MIN: "3" } });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${s.url}/attestation`);
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers.get("retry-after");
          expect((await res.json()).error).toBe("rate_limited");
        }
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200); // health checks are not limited
    } finally {
      await s.stop();
    }
  });
});
