// Every limit has a test that hits it and sees its code.
import { describe, expect, test } from "bun:test";
import { runAgentScript } from "../../src/runtime/index.ts";

const echo = async (_name: string, args: unknown) => args;

describe("run limits", () => {
  test("wall-clock timeout", async () => {
    const r = await runAgentScript(`await callTool("hang", {}); return 1;`, {
      toolHandler: () => new Promise(() => {}),
      limits: { timeoutMs: 100 },
    });
    expect(r).toMatchObject({ ok: false, error: { code: "timeout" } });
  });

  test("a tool answering after the run ended is ignored, and the next runs still work", async () => {
    const late = (ok: boolean) => () =>
      Bun.sleep(100).then(() => (ok ? {} : Promise.reject(new Error("late failure"))));
    for (const ok of [true, false]) {
      const r = await runAgentScript(`await callTool("late", {}); return 1;`, {
        toolHandler: late(ok),
        limits: { timeoutMs: 20 },
      });
      expect(r).toMatchObject({ ok: false, error: { code: "timeout" } });
    }
    await Bun.sleep(200); // both late answers arrive now
    expect(
      await runAgentScript(`return (await callTool("t", { n: 5 })).n`, { toolHandler: echo }),
    ).toMatchObject({ ok: true, value: 5 });
  });

  test("CPU time: an infinite loop is interrupted", async () => {
    const r = await runAgentScript(`for (;;) {}`, { limits: { cpuMs: 50 } });
    expect(r).toMatchObject({ ok: false, error: { code: "cpu_limit" } });
  });

  test("CPU time adds up across slices between tool calls", async () => {
    const r = await runAgentScript(
      `for (let i = 0; i < 1000; i++) { await callTool("t", {}); for (let j = 0; j < 200000; j++) {} }`,
      {
        toolHandler: echo,
        limits: { cpuMs: 50, maxToolCalls: 100_000, timeoutMs: 60_000 },
      },
    );
    expect(r).toMatchObject({ ok: false, error: { code: "cpu_limit" } });
  });

  test("memory", async () => {
    const r = await runAgentScript(`const a = []; for (;;) { a.push([1, 2, 3, 4, 5, 6, 7, 8]); }`, {
      limits: { memoryBytes: 4 * 1024 * 1024, cpuMs: 20_000 },
    });
    expect(r).toMatchObject({ ok: false, error: { code: "memory_limit" } });
  });

  test("maxToolCalls", async () => {
    const r = await runAgentScript(
      `for (let i = 0; i < 10; i++) { await callTool("t", {}); } return 1;`,
      { toolHandler: echo, limits: { maxToolCalls: 3 } },
    );
    expect(r).toMatchObject({
      ok: false,
      error: { code: "max_tool_calls" },
      stats: { toolCallCount: 3 },
    });
  });

  test("max concurrent tool calls", async () => {
    const r = await runAgentScript(
      `const p = []; for (let i = 0; i < 5; i++) { p.push(callTool("t", {})); } for (const x of p) { await x; } return 1;`,
      {
        toolHandler: echo,
        limits: { maxConcurrentToolCalls: 2 },
      },
    );
    expect(r).toMatchObject({ ok: false, error: { code: "max_concurrent_tool_calls" } });
  });

  test("maxStdoutBytes", async () => {
    const r = await runAgentScript(
      `for (let i = 0; i < 100; i++) { console.log("0123456789"); } return 1;`,
      { limits: { maxStdoutBytes: 100 } },
    );
    expect(r).toMatchObject({ ok: false, error: { code: "stdout_limit" } });
  });

  test("maxOutputBytes", async () => {
    const r = await runAgentScript(`return "x".repeat(2000);`, {
      limits: { maxOutputBytes: 1000 },
    });
    expect(r).toMatchObject({ ok: false, error: { code: "output_limit" } });
  });

  test("limits outside their bounds are refused", async () => {
    const r = await runAgentScript(`return 1`, { limits: { memoryBytes: 10 } });
    expect(r).toMatchObject({ ok: false, error: { code: "invalid_limits" } });
    expect((r as { error: { message: string } }).error.message).toContain("memoryBytes");
  });
});

describe("cancellation", () => {
  test("aborting the signal ends a run waiting on a tool with code cancelled", async () => {
    const controller = new AbortController();
    const running = runAgentScript(`await callTool("hang", {}); return 1;`, {
      toolHandler: () => new Promise(() => {}),
      signal: controller.signal,
    });
    await Bun.sleep(20);
    controller.abort();
    expect(await running).toMatchObject({ ok: false, error: { code: "cancelled" } });
    const pre = new AbortController();
    pre.abort();
    expect(await runAgentScript(`return 1`, { signal: pre.signal })).toMatchObject({
      ok: false,
      error: { code: "cancelled" },
    });
  });
});
