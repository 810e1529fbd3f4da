// Graceful shutdown: in-flight requests finish, new ones get 503, the grace period bounds it,
// and every session stream ends with its final, busy scripts included.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeDstack } from "../fixtures/fake-dstack.ts";
import { startFakeLlm } from "../fixtures/fake-llm.ts";
import { safeJson, startAuditor, tempDir } from "../helpers/auditor-process.ts";
import { ndjson } from "../helpers/sessions.ts";

async function slowServer(quoteDelayMs: number, env: Record<string, string> = {}) {
  const socketPath = join(tempDir(), "dstack.sock");
  const fake = await startFakeDstack({ socketPath, quoteDelayMs });
  const server = await startAuditor({
    env: { AUDITOR_TEE: "dstack", DSTACK_SIMULATOR_ENDPOINT: socketPath, ...env },
  });
  return { fake, server };
}

describe("graceful shutdown", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal}: the in-flight request completes, then the process exits 0`, async () => {
      const { fake, server } = await slowServer(400);
      try {
        const inFlight = fetch(`${server.url}/attestation?nonce=01`);
        await Bun.sleep(100); // the request is now waiting on the guest agent
        const exited = server.stop(signal);
        const res = await inFlight;
        expect(res.status).toBe(200);
        expect((await res.json()).statement.nonce).toBe("01");
        expect(await exited).toBe(0);
        await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
        const messages = server.lines.map((l) => safeJson(l)?.msg);
        expect(messages).toContain("shutting down");
        expect(messages.at(-1)).toBe("stopped");
      } finally {
        await fake.close();
      }
    });
  }

  test("the grace period bounds a request that never finishes: it gets a JSON 503", async () => {
    // The stall outlasts the test timeout: only the grace period can end this test in time.
    const { fake, server } = await slowServer(120_000, { AUDITOR_SHUTDOWN_GRACE_MS: "300" });
    try {
      const inFlight = fetch(`${server.url}/attestation?nonce=02`).then(async (r) => ({
        status: r.status,
        body: await r.json(),
        retry: r.headers.get("retry-after"),
      }));
      await Bun.sleep(100);
      expect(await server.stop()).toBe(0);
      expect(await inFlight).toMatchObject({
        status: 503,
        body: { error: "shutting_down" },
        retry: "5",
      });
      const expired = server.lines
        .map(safeJson)
        .find((e) => e?.msg === "shutdown grace period expired; answering what is left with 503");
      expect(expired?.graceMs).toBe(300);
    } finally {
      await fake.close();
    }
  });

  test("SIGTERM with busy and waiting sessions and slow invokes: every stream ends with a final, every invoke gets 200 or a JSON 503, exit 0", async () => {
    const llm = startFakeLlm();
    const server = await startAuditor({
      env: {
        AUDITOR_TEE: "dev",
        AUDITOR_SHUTDOWN_GRACE_MS: "1500",
        OPENROUTER_API_KEY: "sk-or-shutdown",
        OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
      },
    });
    try {
      const start = async (code: string) => {
        const res = await fetch(`${server.url}/sessions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ protocolVersion: 1, code }),
        });
        const lines = ndjson(res);
        const init = await lines.next();
        expect(init.value.type).toBe("session_init");
        // In an object: an async function returning a promise would wait for the whole stream.
        return {
          lines: (async () => {
            const seen: any[] = [];
            for await (const line of lines) seen.push(line);
            return seen;
          })(),
        };
      };
      // Two scripts in long CPU slices (each on its own worker), one waiting for the client.
      const busy = [
        await start("let n = 0; for (;;) { n++; }"),
        await start("const a = []; for (let i = 0; ; i++) { a.length = i % 100; }"),
      ];
      const waiting = await start(`return await callTool("input", { prompt: "never answered" });`);
      // Invokes whose upstream is slow: one answers within the grace period, one far after it.
      const invoke = (session: string) =>
        fetch(`${server.url}/invoke/generate-prompt`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ session_id: session, transcript: "rain on neon" }),
        }).then(async (r) => ({
          status: r.status,
          type: r.headers.get("content-type"),
          body: await r.json(),
        }));
      const upstreamSeen = async (n: number) => {
        while (llm.requests.length < n) await Bun.sleep(10);
      };
      llm.script("openrouter", { kind: "stall", ms: 400 }, { kind: "stall", ms: 60_000 });
      const quick = invoke(crypto.randomUUID());
      await upstreamSeen(1);
      const slow = invoke(crypto.randomUUID());
      await upstreamSeen(2);
      await Bun.sleep(200); // the busy scripts are well inside their slices now

      const exited = server.stop("SIGTERM");
      await Bun.sleep(100);
      // While draining: new requests are answered, with 503, and /readyz says why.
      const refused = await fetch(`${server.url}/functions`);
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ error: "shutting_down" });
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, shuttingDown: true });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

      for (const stream of [...busy, waiting]) {
        const lines = await stream.lines;
        const final = lines.at(-1);
        expect(final.type).toBe("final");
        expect(final.payload).toMatchObject({
          ok: false,
          error: { code: "cancelled", message: "the server is shutting down" },
        });
        expect(lines.filter((l) => l.type === "final").length).toBe(1);
      }
      expect(await quick).toMatchObject({ status: 200, body: { provider_used: "cerebras" } });
      expect(await slow).toMatchObject({
        status: 503,
        type: "application/json",
        body: { error: "shutting_down" },
      });
      expect(await exited).toBe(0);
    } finally {
      llm.close();
    }
  }, 30_000);

  test("an open egress log stream ends when the drain begins, so it does not hold the shutdown to its grace", async () => {
    const server = await startAuditor({
      env: { AUDITOR_TEE: "dev", AUDITOR_SHUTDOWN_GRACE_MS: "600000" },
    });
    const stream = await fetch(`${server.url}/egress-log/stream`);
    const reader = stream.body!.getReader();
    await reader.read(); // the start line
    const exited = server.stop("SIGTERM");
    // The stream ends (cleanly, not reset) and the process exits, long before the 10-minute grace.
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
    expect(await exited).toBe(0);
  }, 20_000);
});
