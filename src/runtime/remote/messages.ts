// What middleware and runtime say to each other inside the sealed channel, one session per
// WebSocket: the middleware sends run, tool_result and cancel; the runtime sends event,
// tool_call and done. Checked with zod on arrival, in both directions.
import { z } from "zod";

export const ToRuntimeSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("run"), seq: z.number(), sessionId: z.string(), code: z.string(), limits: z.record(z.string(), z.number()) }),
  // ok: the value; not ok: the ToolError message the script sees.
  z.object({ type: z.literal("tool_result"), seq: z.number(), callNo: z.number().int(), ok: z.boolean(), value: z.unknown().optional(), message: z.string().optional() }),
  z.object({ type: z.literal("cancel"), seq: z.number() }),
]);
export type ToRuntime = z.infer<typeof ToRuntimeSchema>;

const RunEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("stdout"), text: z.string() }).strict(),
  z.object({ type: z.literal("log"), level: z.enum(["warn", "error"]), text: z.string() }).strict(),
  z.object({ type: z.literal("tool_call"), callId: z.string(), toolName: z.string(), args: z.unknown() }).strict(),
  z.object({ type: z.literal("tool_result_applied"), callId: z.string() }).strict(),
]);

const StatsSchema = z.object({ durationMs: z.number(), toolCallCount: z.number().int(), stdoutBytes: z.number().int(), sandboxBytesIn: z.number().int() }).strict();

export const ToMiddlewareSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("event"), seq: z.number(), event: RunEventSchema }),
  z.object({ type: z.literal("tool_call"), seq: z.number(), callNo: z.number().int(), callId: z.string(), name: z.string(), args: z.unknown(), byRef: z.boolean() }),
  z.object({
    type: z.literal("done"),
    seq: z.number(),
    result: z.union([
      z.object({ ok: z.literal(true), value: z.unknown(), stats: StatsSchema }),
      z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }), stats: StatsSchema }),
    ]),
  }),
]);
export type ToMiddleware = z.infer<typeof ToMiddlewareSchema>;
