// Sessions run in worker threads: a CPU-bound script must not stall the server, nor other
// sessions, and the pool itself bounds a worker whose sandbox failed to stop a script.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RuntimePool } from "../../src/runtime/pool.ts";
import {
  runAgentScript,
  ToolCallError,
  type RunOptions,
  type RunResult,
} from "../../src/runtime/index.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { hogDoesNotStall } from "../helpers/sessions.ts";

const WEDGED_WORKER = new URL("../fixtures/wedged-worker.ts", import.meta.url).href;
/** Durations and CPU time differ from run to run; everything else must not. */
const withoutTimes = (r: RunResult) => ({ ...r, stats: { ...r.stats, durationMs: 0, cpuMs: 0 } });

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
    const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 1 });
    try {
      const failing = await pool.run(
        `try { await callTool("t", {}); } catch (e) { return e.message; }`,
        {
          toolHandler: async () => {
            throw new ToolCallError("quota exceeded", "tool_failed");
          },
        },
      );
      expect(failing).toMatchObject({ ok: true, value: "quota exceeded" });
      const hidden = await pool.run(
        `try { await callTool("t", {}); } catch (e) { return e.message; }`,
        {
          toolHandler: async () => {
            throw new Error("internal path /srv/x");
          },
        },
      );
      expect(hidden).toMatchObject({ ok: true, value: "t failed" });
      expect(
        await pool.run(`try { await callTool("nope", {}); } catch (e) { return e.message; }`),
      ).toMatchObject({ ok: true, value: 'unknown tool "nope"' });
      const controller = new AbortController();
      const waiting = pool.run(`await callTool("hang", {}); return 1;`, {
        toolHandler: () => new Promise(() => {}),
        signal: controller.signal,
      });
      await Bun.sleep(50);
      controller.abort();
      expect(await waiting).toMatchObject({ ok: false, error: { code: "cancelled" } });
    } finally {
      pool.terminate();
    }
  });

  test("in process and in the pool, one contract: the same results for the same scripts", async () => {
    const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 1 });
    const options = (): RunOptions => ({
      limits: { cpuMs: 200, maxToolCalls: 3 },
      toolHandler: async (name, args) => {
        if (name === "boom") throw new Error("host secret /etc/shadow");
        if (name === "refuse") throw new ToolCallError("quota exceeded", "tool_failed");
        return args;
      },
    });
    const scripts = [
      `return (await callTool("echo", { n: 2 })).n * 21`,
      `try { await callTool("boom", {}); } catch (e) { return [e.name, e.message]; }`,
      `try { await callTool("refuse", {}); } catch (e) { return [e.name, e.message]; }`,
      `for (let i = 0; i < 5; i++) await callTool("echo", {});`,
      `console.log("a", { b: 1 }); console.warn("w"); return null`,
      `throw { toJSON: () => { for (;;) {} } }`,
      `return { toJSON: () => { for (;;) {} } }`,
      `const k = [["constr", "uctor"].join("")]; return typeof (() => 0)[k]`,
    ];
    try {
      for (const code of scripts) {
        const events: { local: unknown[]; pooled: unknown[] } = { local: [], pooled: [] };
        const local = await runAgentScript(code, {
          ...options(),
          onEvent: (e) => events.local.push(e),
        });
        const pooled = await pool.run(code, {
          ...options(),
          onEvent: (e) => events.pooled.push(e),
        });
        expect(withoutTimes(pooled)).toEqual(withoutTimes(local));
        expect(events.pooled).toEqual(events.local);
      }
    } finally {
      pool.terminate();
    }
  });

  test("a busy worker takes no new runs: a trivial run beside a hog finishes first", async () => {
    const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 4 });
    try {
      const order: string[] = [];
      const hog = pool
        .run(`for (;;) {}`, { limits: { cpuMs: 1_500 } })
        .then((r) => (order.push("hog"), r));
      await Bun.sleep(200); // the hog is in its slice now
      const trivial = await pool.run(`return 1`);
      order.push("trivial");
      expect(trivial).toMatchObject({ ok: true, value: 1 });
      expect(await hog).toMatchObject({ ok: false, error: { code: "cpu_limit" } });
      expect(order).toEqual(["trivial", "hog"]);
      expect(pool.size).toBeGreaterThan(1); // the trivial run got a worker of its own
    } finally {
      pool.terminate();
    }
  });

  test("a run sent at once after a hog does not queue behind it, before the hog's slice shows", async () => {
    const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 4 });
    try {
      pool.warm();
      const order: string[] = [];
      // No pause: the hog's worker still looks calm (its slice has not run long enough to show).
      const hog = pool
        .run(`for (;;) {}`, { limits: { cpuMs: 1_500 } })
        .then((r) => (order.push("hog"), r));
      const trivial = await pool.run(`return 1`);
      order.push("trivial");
      expect(trivial).toMatchObject({ ok: true, value: 1 });
      expect(await hog).toMatchObject({ ok: false, error: { code: "cpu_limit" } });
      expect(order).toEqual(["trivial", "hog"]);
    } finally {
      pool.terminate();
    }
  });

  test("runs waiting for tools share a worker: a new run joins them instead of a new thread", async () => {
    const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 4 });
    try {
      const gates: (() => void)[] = [];
      const toolHandler = () => new Promise<unknown>((resolve) => gates.push(() => resolve(1)));
      const waiting: Promise<{ ok: boolean }>[] = [];
      for (let i = 1; i <= 5; i++) {
        waiting.push(pool.run(`return await callTool("wait", {})`, { toolHandler }));
        while (gates.length < i) await Bun.sleep(2);
      }
      // Five waiting runs, not five threads. On a loaded machine one run's start-up slice can
      // last past BUSY_AFTER_MS and the pool then starts one spare worker, as it should.
      expect(pool.size).toBeLessThanOrEqual(2);
      for (const open of gates) open();
      expect((await Promise.all(waiting)).every((r) => r.ok)).toBe(true);
    } finally {
      pool.terminate();
    }
  });

  test("cancel reaches a run in the middle of a long slice", async () => {
    const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 1 });
    try {
      const controller = new AbortController();
      const hog = pool.run(`for (;;) {}`, {
        limits: { cpuMs: 120_000, timeoutMs: 120_000 },
        signal: controller.signal,
      });
      await Bun.sleep(200);
      controller.abort();
      expect(await hog).toMatchObject({ ok: false, error: { code: "cancelled" } });
      expect(await pool.run(`return 2`)).toMatchObject({ ok: true, value: 2 });
    } finally {
      pool.terminate();
    }
  });

  test("cancelling several runs of one worker at once stops the one in its slice too", async () => {
    // A shutdown cancels everything at once: the cancel of a run waiting behind the hog must not
    // overwrite the hog's (before, the hog ran on to its CPU limit). Bounded by the test timeout.
    const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 1 });
    try {
      const controllers = [new AbortController(), new AbortController(), new AbortController()];
      const long = { limits: { cpuMs: 120_000, timeoutMs: 120_000 } };
      const hog = pool.run(`for (;;) {}`, { ...long, signal: controllers[0]!.signal });
      const queued = [
        pool.run(`return await callTool("t", {})`, {
          ...long,
          signal: controllers[1]!.signal,
          toolHandler: () => new Promise(() => {}),
        }),
        pool.run(`for (;;) {}`, { ...long, signal: controllers[2]!.signal }),
      ];
      await Bun.sleep(200); // the hog is in its slice; the others wait for the worker
      for (const c of controllers) c.abort(); // the hog first: the later cancels used to overwrite it
      for (const run of [hog, ...queued])
        expect(await run).toMatchObject({ ok: false, error: { code: "cancelled" } });
    } finally {
      pool.terminate();
    }
  }, 20_000);

  test("a worker still busy past its run's deadline is replaced; nothing on it hangs", async () => {
    const pool = new RuntimePool({ minWorkers: 1, maxWorkers: 1, workerEntry: WEDGED_WORKER });
    try {
      const bystander = pool.run(`WAIT`);
      const wedged = pool.run(`WEDGE`, { limits: { timeoutMs: 100 } });
      expect(await wedged).toMatchObject({ ok: false, error: { code: "timeout" } });
      expect(await bystander).toMatchObject({ ok: false, error: { code: "runtime_lost" } });
      expect(await pool.run(`return 1`)).toMatchObject({ ok: true, value: 1 });
    } finally {
      pool.terminate();
    }
  });
});
