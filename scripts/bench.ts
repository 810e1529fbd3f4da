// npm run bench: every benchmark in one process tree on loopback (the LLM upstream is a local
// fake that answers at once, so what remains is ours). Prints a table and writes
// bench/results.json: each figure with its unit, the machine, and targets met or missed.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchColdStart } from "../bench/cold-start.ts";
import { benchEncryption } from "../bench/encryption.ts";
import { benchExtracted } from "../bench/extracted.ts";
import { benchForwarding } from "../bench/forwarding.ts";
import { benchInvoke, benchSealedState } from "../bench/invoke.ts";
import { ITERATIONS, machine, Recorder } from "../bench/lib.ts";
import { benchRuntime } from "../bench/runtime.ts";
import { benchScheduling } from "../bench/scheduling.ts";
import { benchRefBreakdown } from "../bench/ref-breakdown.ts";
import { benchSessions } from "../bench/sessions.ts";
import { benchWorkloads } from "../bench/workloads.ts";

const root = join(import.meta.dir, "..");
const recorder = new Recorder();
const host = machine();
console.log(
  `machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, ${host.os}, Bun ${host.bun}; ${ITERATIONS} samples per latency figure`,
);
await benchInvoke(recorder);
await benchSealedState(recorder);
await benchRuntime(recorder);
await benchWorkloads(recorder);
await benchSessions(recorder);
await benchRefBreakdown(recorder);
await benchScheduling(recorder);
await benchExtracted(recorder);
await benchForwarding(recorder);
await benchEncryption(recorder);
await benchColdStart(recorder, root);

const missed = recorder.figures.filter((f) => f.met === false);
console.log(
  `\ntargets: ${recorder.figures.filter((f) => f.met).length} met, ${missed.length} missed${missed.length ? ` (${missed.map((f) => f.id).join(", ")})` : ""}`,
);
const path = join(root, "bench/results.json");
writeFileSync(
  path,
  JSON.stringify(
    {
      ranAt: new Date().toISOString(),
      machine: host,
      iterations: ITERATIONS,
      figures: recorder.figures,
    },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${path}`);
