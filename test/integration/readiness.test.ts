// GET /readyz, beside /healthz: ready only while the state store and the TEE provider answer,
// saying which part is not; its probes are shared and cached, so however often /readyz is
// asked, the guest agent (and the store) are asked at most about once a second. (Store
// outages: store-outages.test.ts; a shutdown: shutdown.test.ts.)
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { READY_CACHE_MS } from "../../src/readiness.ts";
import { startFakeDstack } from "../fixtures/fake-dstack.ts";
import { startAuditor, tempDir } from "../helpers/auditor-process.ts";

describe("GET /readyz", () => {
  test("ready with a store and a guest agent that answer; a vanished agent is named; probes are cached", async () => {
    const socketPath = join(tempDir(), "dstack.sock");
    let fake = await startFakeDstack({ socketPath, seed: "readyz" });
    const server = await startAuditor({
      env: { AUDITOR_TEE: "dstack", DSTACK_SIMULATOR_ENDPOINT: socketPath },
    });
    const readyz = async () => {
      const res = await fetch(`${server.url}/readyz`);
      return {
        status: res.status,
        cache: res.headers.get("cache-control"),
        body: await res.json(),
      };
    };
    /** Asks until the answer has `status` (a cached answer may still say the old one). */
    const readyzUntil = async (status: number) => {
      for (;;) {
        const answer = await readyz();
        if (answer.status === status) return answer;
        await Bun.sleep(100);
      }
    };
    try {
      expect(await readyz()).toMatchObject({
        status: 200,
        cache: "no-store",
        body: {
          ready: true,
          store: { ready: true, kind: "sqlite", health: { ok: true, lastError: null } },
          tee: { ready: true, provider: "dstack" },
          shuttingDown: false,
        },
      });

      // A burst of 200 asks the guest agent about once per cache window, not 200 times.
      const infoBefore = fake.calls.filter((c) => c.rpc === "/Info").length;
      const started = performance.now();
      const burst = await Promise.all(Array.from({ length: 200 }, readyz));
      const windows = Math.ceil((performance.now() - started) / READY_CACHE_MS) + 1;
      expect(burst.every((r) => r.status === 200)).toBe(true);
      expect(fake.calls.filter((c) => c.rpc === "/Info").length - infoBefore).toBeLessThanOrEqual(
        windows,
      );

      await fake.close();
      expect(await readyzUntil(503)).toMatchObject({
        body: {
          ready: false,
          store: { ready: true },
          tee: { ready: false, lastError: "unreachable" },
        },
      });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200); // the process is alive

      fake = await startFakeDstack({ socketPath, seed: "readyz" });
      expect((await readyzUntil(200)).body).toMatchObject({
        ready: true,
        tee: { ready: true, lastError: null },
      });
    } finally {
      await server.stop();
      await fake.close();
    }
  });
});
