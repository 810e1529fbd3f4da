// Graceful shutdown: in-flight requests finish, new ones are refused, the grace period bounds it.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeDstack } from "../fixtures/fake-dstack.ts";
import { safeJson, startAuditor, tempDir } from "../helpers/auditor-process.ts";

async function slowServer(quoteDelayMs: number, env: Record<string, string> = {}) {
  const socketPath = join(tempDir(), "dstack.sock");
  const fake = await startFakeDstack({ socketPath, quoteDelayMs });
  const server = await startAuditor({ env: { AUDITOR_TEE: "dstack", DSTACK_SIMULATOR_ENDPOINT: socketPath, ...env } });
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

  test("the grace period bounds a request that never finishes", async () => {
    // The stall outlasts the test timeout: only the grace period can end this test in time.
    const { fake, server } = await slowServer(120_000, { AUDITOR_SHUTDOWN_GRACE_MS: "300" });
    try {
      const inFlight = fetch(`${server.url}/attestation?nonce=02`).then((r) => r.status, () => "closed");
      await Bun.sleep(100);
      expect(await server.stop()).toBe(0);
      expect(await inFlight).toBe("closed");
      const expired = server.lines.map(safeJson).find((e) => e?.msg === "shutdown grace period expired; closing remaining connections");
      expect(expired?.graceMs).toBe(300);
    } finally {
      await fake.close();
    }
  });
});
