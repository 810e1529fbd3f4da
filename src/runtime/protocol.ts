// The run contract, defined once: what a run reports (events, stats, result) and what a host
// (the side that owns the tools and their secrets) and a guest (the side that runs QuickJS) say
// to each other, whatever carries it: a worker thread in this process, or an extracted
// runtime's sealed WebSocket. Tool results and cancellation are the seed protocol's runtime
// channel messages (DESIGN "Sessions"); run, tool_call, event and done are this server's own
// (docs/protocol.md "Runtime channel").
import { z } from "zod";
import { EventPayloads, RunStatsSchema } from "../../sdk/wire/sessions.ts";
import { LimitsSchema } from "./limits.ts";

export const RUN_PROTOCOL_VERSION = 1;

/** Every way a run can fail; `validation_error` comes with line and column in the message. */
export const RunErrorCodeSchema = z.enum([
  "validation_error",
  "invalid_limits",
  "timeout",
  "cancelled",
  "cpu_limit",
  "memory_limit",
  "memory_budget",
  "max_tool_calls",
  "max_concurrent_tool_calls",
  "stdout_limit",
  "output_limit",
  "output_not_json",
  "ref_access",
  "runtime_unavailable",
  "runtime_lost",
  "script_error",
]);
export type RunErrorCode = z.infer<typeof RunErrorCodeSchema>;

/** What a run reports while it runs: the session event payloads, tagged with their type. */
export const RunEventSchema = z.discriminatedUnion("type", [
  z.strictObject({ ...EventPayloads.stdout.shape, type: z.literal("stdout") }),
  z.strictObject({ ...EventPayloads.log.shape, type: z.literal("log") }),
  z.strictObject({ ...EventPayloads.tool_call.shape, type: z.literal("tool_call") }),
  z.strictObject({
    ...EventPayloads.tool_result_applied.shape,
    type: z.literal("tool_result_applied"),
  }),
]);
export type RunEvent = z.infer<typeof RunEventSchema>;

export type RunStats = z.infer<typeof RunStatsSchema>;

/** The stats of a run that did nothing (yet): failed early, or taken back. */
export const emptyStats = (durationMs = 0): RunStats => ({
  durationMs,
  toolCallCount: 0,
  stdoutBytes: 0,
  sandboxBytesIn: 0,
  cpuMs: 0,
});

export const RunResultSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), value: z.unknown(), stats: RunStatsSchema }).strict(),
  z
    .object({
      ok: z.literal(false),
      error: z.object({ code: RunErrorCodeSchema, message: z.string() }).strict(),
      stats: RunStatsSchema,
    })
    .strict(),
]);
export type RunResult = z.infer<typeof RunResultSchema>;

const header = {
  protocolVersion: z.literal(RUN_PROTOCOL_VERSION),
  sessionId: z.string().min(1).max(128),
};

/** A tool's failure as the script sees it: a safe message, never a host stack or upstream text. */
export const ToolErrorSchema = z
  .object({ message: z.string(), code: z.string().optional() })
  .strict();

export const HostMessageSchema = z.discriminatedUnion("type", [
  z
    .object({ type: z.literal("run"), ...header, code: z.string(), limits: LimitsSchema.partial() })
    .strict(),
  // The seed protocol's tool_result_submit: the answer to the guest's tool_call with this callId.
  z
    .object({
      type: z.literal("tool_result_submit"),
      ...header,
      callId: z.string(),
      ok: z.boolean(),
      result: z.unknown().optional(),
      error: ToolErrorSchema.optional(),
    })
    .strict(),
  z.object({ type: z.literal("cancel"), ...header, reason: z.string().optional() }).strict(),
]);
export type HostMessage = z.infer<typeof HostMessageSchema>;

export const GuestMessageSchema = z.discriminatedUnion("type", [
  // stdout, log and tool_result_applied; a tool call travels as its own message below.
  z.object({ type: z.literal("event"), ...header, event: RunEventSchema }).strict(),
  z
    .object({
      type: z.literal("tool_call"),
      ...header,
      callId: z.string(),
      toolName: z.string(),
      args: z.unknown(),
      /** The auto-ref pass proved the script never reads the result: answer with a reference. */
      byRef: z.boolean(),
    })
    .strict(),
  z.object({ type: z.literal("done"), ...header, result: RunResultSchema }).strict(),
]);
export type GuestMessage = z.infer<typeof GuestMessageSchema>;

/**
 * What carries the messages: a worker thread, or a sealed WebSocket. `send` never throws;
 * `onClose` fires once when the other side is gone for good.
 */
export interface RunPort<In, Out> {
  send(message: Out): void;
  onMessage(handler: (message: In) => void): void;
  onClose(handler: (reason: string) => void): void;
}
