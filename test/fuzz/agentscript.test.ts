// Fuzzing the runtime with AgentScript from a grammar (test/fuzz/agentscript-grammar.ts):
// programs written with the names in scope, which mostly run (the share that reaches the
// sandbox is measured and must be at least MIN_RUNNING_SHARE); hostile fragments in families,
// each of which must end its run with the code it targets after any harmless prefix; and
// fragments dropped anywhere into a program. Every run returns (no throw, no hang past its
// limits) with a value or a known failure code, and every event it emits fits the wire schema.
// The shares are printed (npm test: FUZZ_RUNS = 200 a target; npm run fuzz: 10,000).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { runAgentScript, type RunEvent, type RunResult } from "../../src/runtime/index.ts";
import { RunErrorCodeSchema, RunEventSchema } from "../../src/runtime/protocol.ts";
import {
  FUZZ_LIMITS,
  fuzzTools,
  HOSTILE_FAMILIES,
  hostileCase,
  mixedProgram,
  program,
} from "./agentscript-grammar.ts";
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS } from "./runs.ts";

/** Every way a run can end failed here: all but a runner that is missing (in-process runs). */
const CODES: string[] = RunErrorCodeSchema.options.filter((code) => code !== "runtime_unavailable");
/** Programs from the grammar that must get past the validator and run to an end. */
const MIN_RUNNING_SHARE = 0.7;

/** Runs one script and checks what every run must satisfy; returns its result. */
async function runChecked(code: string, limits = FUZZ_LIMITS): Promise<RunResult> {
  const started = performance.now();
  const events: RunEvent[] = [];
  const result = await runAgentScript(code, {
    toolHandler: fuzzTools,
    onEvent: (e) => events.push(e),
    limits,
  });
  expect(performance.now() - started).toBeLessThan(5_000); // a guard against hangs, not a benchmark
  if (!result.ok) expect(CODES).toContain(result.error.code);
  for (const event of events) expect(RunEventSchema.safeParse(event).success).toBe(true);
  return result;
}

const percent = (part: number, whole: number) =>
  `${((100 * part) / Math.max(1, whole)).toFixed(1)} %`;

describe("fuzzing AgentScript", () => {
  test(
    "grammar-built programs mostly run: they reach the sandbox and end with a value or a runtime code",
    async () => {
      const ends = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(program, async (code) => {
          const result = await runChecked(code);
          const end = result.ok ? "value" : result.error.code;
          ends.set(end, (ends.get(end) ?? 0) + 1);
        }),
        { numRuns: FUZZ_RUNS },
      );
      const total = [...ends.values()].reduce((a, b) => a + b, 0);
      const running = total - (ends.get("validation_error") ?? 0);
      console.log(
        `agentscript fuzz: ${total} programs, ${percent(running, total)} reached the sandbox (${percent(ends.get("value") ?? 0, total)} ended with a value); ends: ${JSON.stringify(Object.fromEntries(ends))}`,
      );
      expect(running / total).toBeGreaterThanOrEqual(MIN_RUNNING_SHARE);
    },
    FUZZ_TIMEOUT_MS * 5,
  );

  test(
    "each hostile fragment family ends its run with the code it targets",
    async () => {
      const hits = new Map(HOSTILE_FAMILIES.map((f) => [f.name, 0]));
      await fc.assert(
        fc.asyncProperty(hostileCase, async ({ family, code }) => {
          const result = await runChecked(code, { ...FUZZ_LIMITS, ...family.limits });
          expect({ family: family.name, code: result.ok ? "value" : result.error.code }).toEqual({
            family: family.name,
            code: family.code,
          });
          hits.set(family.name, hits.get(family.name)! + 1);
        }),
        { numRuns: FUZZ_RUNS },
      );
      const total = [...hits.values()].reduce((a, b) => a + b, 0);
      const byFamily = HOSTILE_FAMILIES.map(
        (f) => `${f.name} → ${f.code}: ${hits.get(f.name)}`,
      ).join(", ");
      console.log(
        `agentscript fuzz: ${total} hostile cases, ${percent(total, FUZZ_RUNS)} hit the limit their family targets (${byFamily})`,
      );
    },
    FUZZ_TIMEOUT_MS * 5,
  );

  test(
    "a hostile fragment anywhere in a program still ends with a value or a known code",
    async () => {
      await fc.assert(
        // The tighter wall-clock bound of the never-answering tool's family, so that one costs little.
        fc.asyncProperty(mixedProgram, async (code) => {
          await runChecked(code, { ...FUZZ_LIMITS, timeoutMs: 200 });
        }),
        { numRuns: FUZZ_RUNS },
      );
    },
    FUZZ_TIMEOUT_MS * 5,
  );
});
