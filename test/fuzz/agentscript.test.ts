// Fuzzing the runtime with AgentScript built from grammar fragments, valid and hostile mixed:
// every run returns (no throw, no hang past its limits) with a value or a known failure code.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { runAgentScript, type RunErrorCode, type RunEvent } from "../../src/runtime/index.ts";
import { RunEventSchema } from "../../src/runtime/protocol.ts";
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS } from "./runs.ts";

const CODES: RunErrorCode[] = ["validation_error", "invalid_limits", "timeout", "cancelled", "cpu_limit", "memory_limit", "max_tool_calls", "max_concurrent_tool_calls", "stdout_limit", "output_limit", "output_not_json", "ref_access", "script_error"];

const ident = fc.constantFrom("a", "b", "users", "x", "r");
const literal = fc.oneof(fc.integer().map(String), fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)), fc.constantFrom("null", "true", "[]", "{}", "undefined", "NaN"));
const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: "small" },
    literal,
    ident,
    fc.tuple(tie("e"), fc.constantFrom("+", "-", "*", "===", "!==", "<", "&&", "||", "??"), tie("e")).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(tie("e"), fc.constantFrom(".length", "[0]", ".x", ".map((v) => v)", "?.y")).map(([a, m]) => `${a}${m}`),
    fc.tuple(fc.constantFrom("echo", "get_users", "input", "nope", "secret"), tie("e")).map(([t, a]) => `(await callTool("${t}", { v: ${a} }))`),
    fc.array(tie("e"), { maxLength: 3 }).map((items) => `[${items.join(", ")}]`),
    fc.constantFrom("JSON.stringify({})", "Math.max(1, 2)", "Object.keys({ a: 1 })", "String(1)", "new Date(0).toISOString()"),
  ),
})).e;
const statement: fc.Arbitrary<string> = fc.letrec((tie) => ({
  s: fc.oneof(
    { depthSize: "small" },
    fc.tuple(fc.constantFrom("const", "let"), ident, expr).map(([k, n, e]) => `${k} ${n} = ${e};`),
    expr.map((e) => `${e};`),
    expr.map((e) => `return ${e};`),
    fc.tuple(expr, tie("s")).map(([c, s]) => `if (${c}) { ${s} }`),
    tie("s").map((s) => `for (let i = 0; i < 3; i++) { ${s} }`),
    tie("s").map((s) => `try { ${s} } catch (e) { console.log("caught"); }`),
    expr.map((e) => `console.log(${e});`),
    fc.tuple(fc.constantFrom("debug", "info", "warn", "error"), fc.array(expr, { maxLength: 3 })).map(([level, args]) => `console.${level}(${args.join(", ")});`),
    // hostile fragments
    fc.constantFrom("for (;;) {}", "while (true) {}", "this.x = 1;", "eval('1');", "({}).constructor.constructor('return 1')();", "const s = 'x'.repeat(1e9);", "const f = () => f(); f();", "globalThis.a = 1;", "import('x');", "let a = []; for (;;) { a.push(new Array(1e6)); }", "__auditorRefCheck(1);"),
  ),
})).s;
const program = fc.array(statement, { minLength: 1, maxLength: 6 }).map((lines) => lines.join("\n"));

const toolHandler = async (name: string, args: unknown) => {
  if (name === "secret") return { $ref: { id: "ref_fuzz" } };
  if (name === "nope") throw new Error("no such tool");
  return args;
};

describe("fuzzing AgentScript", () => {
  test("grammar-built scripts always end with a value or a known code, within their limits, and every event fits the wire", async () => {
    await fc.assert(
      fc.asyncProperty(program, async (code) => {
        const t = performance.now();
        const events: RunEvent[] = [];
        const result = await runAgentScript(code, { toolHandler, onEvent: (e) => events.push(e), limits: { cpuMs: 50, timeoutMs: 1_000, memoryBytes: 8 * 2 ** 20, maxToolCalls: 20 } });
        expect(performance.now() - t).toBeLessThan(5_000); // a guard against hangs, not a benchmark
        if (!result.ok) expect(CODES).toContain(result.error.code);
        for (const event of events) expect(RunEventSchema.safeParse(event).success).toBe(true);
      }),
      { numRuns: FUZZ_RUNS },
    );
  }, FUZZ_TIMEOUT_MS * 5);
});
