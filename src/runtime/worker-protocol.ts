// Messages between the main thread and runtime workers.
import type { Limits } from "./limits.ts";
import type { RunEvent, RunResult } from "./index.ts";

export type ToWorker =
  | { type: "run"; jobId: number; code: string; limits: Partial<Limits> }
  | { type: "tool_result"; jobId: number; callNo: number; ok: true; value: unknown }
  | { type: "tool_result"; jobId: number; callNo: number; ok: false; message: string }
  | { type: "cancel"; jobId: number };

export type ToMain =
  | { type: "event"; jobId: number; event: RunEvent }
  | { type: "tool"; jobId: number; callNo: number; callId: string; byRef: boolean; name: string; args: unknown }
  | { type: "done"; jobId: number; result: RunResult };
