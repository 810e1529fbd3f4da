// Script code that tries to run outside the CPU limit: thrown values with toJSON or getters,
// thenables, toJSON on returned values, logged values and tool arguments. Every entry into
// QuickJS is an accounted slice, so each ends with the run's own limit (no test here measures
// time: a run that escaped its limit would hang the test instead of failing it).
import { describe, expect, test } from "bun:test";
import { runAgentScript } from "../../src/runtime/index.ts";

const SPIN = "() => { for (;;) {} }";
// Thrown values are described from their own data properties only: their code never runs.
const neverRuns: Record<string, string> = {
  "a thrown object with toJSON": `throw { toJSON: ${SPIN} }`,
  "a thrown object whose message is a getter": `const o = {}; Object.defineProperty(o, "message", { get: ${SPIN} }); throw o;`,
  "a thrown object whose name is a getter": `const o = {}; Object.defineProperty(o, "name", { get: ${SPIN} }); throw o;`,
  "a thrown value with toString": `throw { toString: ${SPIN} }`,
  "a rejection with toJSON after a tool call": `await callTool("t", {}); throw { toJSON: ${SPIN} }`,
};
// Everything else the runtime must run (serializing, resolving, draining) runs in a slice.
const runsAccounted: Record<string, string> = {
  "a returned thenable": `return { then: ${SPIN} }`,
  "an awaited thenable": `await { then: ${SPIN} }; return 1`,
  "a returned value with toJSON": `return { toJSON: ${SPIN} }`,
  "a returned getter": `const o = {}; Object.defineProperty(o, "x", { get: ${SPIN}, enumerable: true }); return o;`,
  "a logged value with toJSON": `console.log({ toJSON: ${SPIN} }); return 1`,
  "a logged getter": `const o = {}; Object.defineProperty(o, "x", { get: ${SPIN}, enumerable: true }); console.log(o); return 1`,
  "tool arguments with toJSON": `await callTool("t", { a: { toJSON: ${SPIN} } }); return 1`,
  "a continuation that spins after each tool answer": `for (let i = 0; i < 5; i++) { await callTool("t", {}); } for (;;) {}`,
  "catastrophic backtracking": `return /^(a+)+$/.test("a".repeat(40) + "b")`,
};
const run = (code: string, limits = { cpuMs: 100, timeoutMs: 10_000 }) =>
  runAgentScript(code, { toolHandler: async () => ({ ok: 1 }), limits });

describe("no script code runs outside the CPU limit", () => {
  for (const [name, code] of Object.entries(neverRuns)) {
    test(`${name}: described without running it`, async () => {
      expect(await run(code)).toMatchObject({
        ok: false,
        error: { code: "script_error", message: "Error: a value that is not an Error was thrown" },
      });
    });
  }
  for (const [name, code] of Object.entries(runsAccounted)) {
    test(`${name}: stopped at the CPU limit, which its stats account for`, async () => {
      const result = await run(code);
      expect(result).toMatchObject({ ok: false, error: { code: "cpu_limit" } });
      // cpuMs is what the limit counted: at least the limit, and not more than the run took
      // (give or take the few ms the sandbox spends on its context before the clock starts).
      expect(result.stats.cpuMs).toBeGreaterThanOrEqual(100);
      expect(result.stats.cpuMs).toBeLessThanOrEqual(result.stats.durationMs + 10);
    });
  }

  test("the wall-clock deadline holds inside a slice too", async () => {
    expect(
      await run(`return { toJSON: ${SPIN} }`, { cpuMs: 60_000, timeoutMs: 150 }),
    ).toMatchObject({ ok: false, error: { code: "timeout" } });
  });

  test("a thrown Error keeps its own message", async () => {
    expect(await run(`throw { message: "plain", toJSON: () => "ran" }`)).toMatchObject({
      ok: false,
      error: { code: "script_error", message: "Error: plain" },
    });
  });
});

describe("memory the sandbox really takes", () => {
  test("large strings count, not just allocated blocks", async () => {
    // QuickJS compiled to WebAssembly counts 8 bytes a block: this took 800 MB under a 32 MiB limit.
    const r = await runAgentScript(
      `const a = []; for (let i = 0; i < 40; i++) a.push("x".repeat(20e6) + i); return a.length`,
      {
        limits: { memoryBytes: 32 * 1024 * 1024, cpuMs: 20_000, timeoutMs: 30_000 },
      },
    );
    expect(r).toMatchObject({ ok: false, error: { code: "memory_limit" } });
    const { sandboxMemory } = await import("../../src/runtime/sandbox-memory.ts");
    expect(sandboxMemory().bytes).toBeLessThan(160 * 1024 * 1024);
  });

  test("a run within its limit still gets the memory it needs", async () => {
    const r = await runAgentScript(`const s = "y".repeat(4e6); return s.length`, {
      limits: { memoryBytes: 32 * 1024 * 1024 },
    });
    expect(r).toMatchObject({ ok: true, value: 4e6 });
  });
});
