// Where the 10 MB pass-through by reference spends its time (issue 25): each step the server
// takes for it, in process and in order, on the same 180,000 users, the fastest of ROUNDS
// rounds (so other load on the machine shows as little as it can). The HTTP figure
// (sidecar_autoref_p50, bench/sessions.ts) is these steps plus the session around them.
import { parseCooperatively } from "../src/runtime/cooperative-parse.ts";
import { ToolRegistry } from "../src/runtime/index.ts";
import { demoTools } from "../src/sessions/demo-tools.ts";
import { RefSidecar } from "../src/sidecar/index.ts";
import type { Recorder } from "./lib.ts";

const USERS = 180_000;
const ROUNDS = 10;

const STEPS = [
  ["handler", "get_users makes the value (the tool's own work)"],
  ["output_parse", "get_users' result validated against its output schema"],
  ["sidecar_put", "stored in the sidecar (JSON.stringify to count its bytes)"],
  ["resolve_copy", "the ref resolved for process_users (a copy per tool)"],
  ["input_parse", "process_users' arguments validated against its input schema"],
  ["rest", "process_users runs; its result validated and stored"],
  ["gc", "a full garbage collection of what the steps allocated"],
] as const;

export async function benchRefBreakdown(r: Recorder): Promise<void> {
  r.section(
    `Reference sidecar breakdown: the same pass-through's steps in process (fastest of ${ROUNDS})`,
  );
  const tools = new ToolRegistry(demoTools());
  const get = tools.get("get_users")!;
  const process = tools.get("process_users")!;
  const context = { secrets: {}, signal: new AbortController().signal };
  const best: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    const lap = (step: string) => {
      const now = performance.now();
      best[step] = Math.min(best[step] ?? Infinity, now - t);
      t = now;
    };
    const sidecar = new RefSidecar();
    const users = await get.handler({ count: USERS }, context);
    lap("handler");
    const output = await parseCooperatively(get.output, users);
    lap("output_parse");
    const token = sidecar.put(output.data, { readable: true, source: "tool get_users" });
    lap("sidecar_put");
    const args = sidecar.resolveArgs({ users: token }, { name: "process_users", accepts: [] });
    lap("resolve_copy");
    const input = await parseCooperatively(process.input, args.value);
    if (!input.success) throw new Error("process_users refused the users");
    lap("input_parse");
    const result = await parseCooperatively(
      process.output,
      await process.handler(input.data, context),
    );
    sidecar.put(result.data, { readable: true, source: "tool process_users" });
    lap("rest");
    Bun.gc(true);
    lap("gc");
  }
  for (const [step, label] of STEPS) r.add(`sidecar_step_${step}_ms`, label, best[step]!, "ms");
  r.add(
    "sidecar_steps_total_ms",
    "the steps together (each at its fastest)",
    STEPS.reduce((sum, [step]) => sum + best[step]!, 0),
    "ms",
  );
}
