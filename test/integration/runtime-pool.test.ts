// Sessions run in worker threads: a CPU-bound script must not stall the server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RuntimePool } from "../../src/runtime/pool.ts";
import { ToolCallError } from "../../src/runtime/index.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { hogDoesNotStall } from "../helpers/sessions.ts";

describe("runtime worker pool", () => {
  let server: AuditorProcess;
  beforeAll(async () => {
    server = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("a CPU-bound session does not stall health checks or other sessions", async () => {
    await hogDoesNotStall(server.url);
  });

  test("tool errors, unknown tools and cancellation cross the thread boundary", async () => {
    const pool = new RuntimePool(1);
    try {
      const failing = await pool.run(`try { await callTool("t", {}); } catch (e) { return e.message; }`, {
        toolHandler: async () => {
          throw new ToolCallError("quota exceeded", "tool_failed");
        },
      });
      expect(failing).toMatchObject({ ok: true, value: "quota exceeded" });
      const hidden = await pool.run(`try { await callTool("t", {}); } catch (e) { return e.message; }`, {
        toolHandler: async () => {
          throw new Error("internal path /srv/x");
        },
      });
      expect(hidden).toMatchObject({ ok: true, value: "t failed" });
      expect(await pool.run(`try { await callTool("nope", {}); } catch (e) { return e.message; }`)).toMatchObject({ ok: true, value: 'unknown tool "nope"' });
      const controller = new AbortController();
      const waiting = pool.run(`await callTool("hang", {}); return 1;`, { toolHandler: () => new Promise(() => {}), signal: controller.signal });
      await Bun.sleep(50);
      controller.abort();
      expect(await waiting).toMatchObject({ ok: false, error: { code: "cancelled" } });
    } finally {
      pool.terminate();
    }
  });
});
