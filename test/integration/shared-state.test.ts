// Two instances of one app sharing sealed state through a real PostgreSQL and a real Redis
// (Debian packages; .ci/run starts them with scripts/test-services.sh): one ETHEREA session served
// alternately by both keeps its continuity, concurrent updates from both lose nothing, and the
// store holds only ciphertext under hashed names.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient, SQL } from "bun";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";
import { SealedStore } from "../../src/store/index.ts";
import { sid } from "../helpers/session-id.ts";

const STORES = {
  postgres:
    process.env.AUDITOR_TEST_POSTGRES_URL ?? "postgres://auditor:auditor@127.0.0.1:5432/auditor",
  redis: process.env.AUDITOR_TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
};

async function reachable(kind: keyof typeof STORES): Promise<boolean> {
  try {
    if (kind === "postgres") {
      const sql = new SQL(STORES.postgres);
      await sql`SELECT 1`;
      await sql.close();
    } else {
      const redis = new RedisClient(STORES.redis);
      await redis.send("PING", []);
      redis.close();
    }
    return true;
  } catch {
    return false;
  }
}

/** Everything the store holds for us, as raw strings: names and sealed values. */
async function rawContents(
  kind: keyof typeof STORES,
): Promise<{ names: string[]; values: string }> {
  if (kind === "postgres") {
    const sql = new SQL(STORES.postgres);
    const rows = await sql`SELECT key, ct FROM auditor_sealed`;
    await sql.close();
    return {
      names: rows.map((r: { key: string }) => r.key),
      values: rows.map((r: { ct: Uint8Array }) => Buffer.from(r.ct).toString("latin1")).join(""),
    };
  }
  const redis = new RedisClient(STORES.redis);
  const names = (await redis.send("KEYS", ["auditor:sealed:*"])) as string[];
  const values = await Promise.all(names.map((n) => redis.get(n)));
  redis.close();
  return {
    names: names.map((n) => n.slice("auditor:sealed:".length)),
    values: values.map((v) => Buffer.from(v!.split(".")[1]!, "base64").toString("latin1")).join(""),
  };
}

async function clear(kind: keyof typeof STORES) {
  if (kind === "postgres") {
    const sql = new SQL(STORES.postgres);
    await sql`DROP TABLE IF EXISTS auditor_sealed`;
    await sql.close();
  } else {
    const redis = new RedisClient(STORES.redis);
    const keys = (await redis.send("KEYS", ["auditor:*"])) as string[];
    if (keys.length) await redis.send("DEL", keys);
    redis.close();
  }
}

let llm: FakeLlm;
beforeAll(() => {
  llm = startFakeLlm();
});
afterAll(() => llm?.close());

for (const kind of ["postgres", "redis"] as const) {
  const available = await reachable(kind);
  if (!available) {
    const message = `${kind} is not reachable at ${STORES[kind]}: run scripts/test-services.sh (after apt-get install postgresql redis-server); .ci/run does`;
    if (process.env.CI) test(`${kind} is running`, () => expect(message).toBe(`${kind} reachable`));
    else console.warn(`skipping the shared-state tests on ${kind}: ${message}`);
  }

  describe.skipIf(!available)(`sealed state shared through ${kind}`, () => {
    let a: AuditorProcess;
    let b: AuditorProcess;

    beforeAll(async () => {
      await clear(kind);
      // One data dir: the dev TEE's root key lives there, so both instances hold the same
      // sealing key, as two CVMs of one dstack app do.
      const dataDir = tempDir();
      const env = {
        AUDITOR_TEE: "dev",
        AUDITOR_STATE_URL: STORES[kind],
        OPENROUTER_API_KEY: "sk-or-shared",
        OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
      };
      a = await startAuditor({ dataDir, env });
      b = await startAuditor({ dataDir, env });
    });
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
    });

    test("one ETHEREA session served alternately by two instances keeps its continuity", async () => {
      llm.reset();
      const prompts: string[] = [];
      for (let i = 0; i < 6; i++) {
        const server = i % 2 === 0 ? a : b;
        const res = await fetch(`${server.url}/invoke/generate-prompt`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ session_id: sid(`shared-${kind}`), transcript: `turn ${i}` }),
        });
        expect(res.status).toBe(200);
        prompts.push((await res.json()).prompt);
        if (i > 0) {
          // The request this instance sent upstream knew the prompt the other instance made.
          const system = JSON.parse(llm.requests.at(-1)!.body).messages[0].content as string;
          expect(system).toContain(`=== RECENT PROMPT (for continuity) ===\n${prompts[i - 1]}`);
        }
      }
    });

    test("the store holds ciphertext under hashed names only", async () => {
      const { names, values } = await rawContents(kind);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(name).toMatch(/^[0-9a-f]{64}$/);
      expect(values).not.toContain("prompt 1");
      expect(values).not.toContain("shared-");
    });

    test("the report names the store as a destination of sealed state", async () => {
      const report = await (await fetch(`${a.url}/report/etherea`)).json();
      const host = new URL(STORES[kind]).host;
      expect(report.stateStore).toMatchObject({ kind, host });
      expect(report.egressPolicy).toContainEqual({
        fn: "(sealed state)",
        origin: `${kind}://${host}`,
        host,
        url: `${kind}://${host}`,
        operatorOverride: "AUDITOR_STATE_URL",
        enabled: true,
      });
    });

    test("concurrent updates of one record from two instances lose nothing", async () => {
      const key = crypto.getRandomValues(new Uint8Array(32));
      const [one, two] = await Promise.all([
        SealedStore.open(tempDir(), key, { url: STORES[kind] }),
        SealedStore.open(tempDir(), key, { url: STORES[kind] }),
      ]);
      try {
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 ? one : two).update<number>("counter", (v) => (v ?? 0) + 1),
          ),
        );
        expect(await one.get<number>("counter")).toBe(40);
        const other = await SealedStore.open(
          tempDir(),
          crypto.getRandomValues(new Uint8Array(32)),
          { url: STORES[kind] },
        );
        await expect(other.get("counter")).resolves.toBeUndefined(); // another app's key: another (hashed) name
        await other.close();
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    });
  });
}
