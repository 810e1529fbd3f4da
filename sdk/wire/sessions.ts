// The session wire contract (DESIGN "Sessions (NDJSON)"), shared by server and clients.
import { z } from "zod/mini";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { CanonicalBase64Url } from "./attestation.ts";

export const PROTOCOL_VERSION = 1;

export const SessionLimitsSchema = z.partial(
  z.strictObject({
    sessionTtlMs: z.number().check(z.int(), z.positive()),
    timeoutMs: z.number().check(z.int(), z.positive()),
    cpuMs: z.number().check(z.int(), z.positive()),
    memoryBytes: z.number().check(z.int(), z.positive()),
    maxToolCalls: z.number().check(z.int(), z.gte(0)),
    maxStdoutBytes: z.number().check(z.int(), z.gte(0)),
    maxOutputBytes: z.number().check(z.int(), z.gte(0)),
    maxConcurrentToolCalls: z.number().check(z.int(), z.positive()),
  }),
);
export type SessionLimits = z.infer<typeof SessionLimitsSchema>;

export const EncryptionRequestSchema = z.strictObject({
  mode: z.enum(["required", "optional"]),
  clientPublicKey: z.optional(CanonicalBase64Url.check(z.minLength(1), z.maxLength(200))),
});

/** What happens to references the script returns, and whether clients may read non-readable ones. */
export const RefPolicySchema = z.strictObject({
  /** Replace returned readable refs by their values in `final` (default true)… */
  resolveReturned: z._default(z.boolean(), true),
  /** …while their total stays within this many bytes (default 1 MiB); larger ones stay refs. */
  maxResolvedBytes: z._default(
    z.number().check(z.int(), z.gte(0), z.lte(64 * 1024 * 1024)),
    1024 * 1024,
  ),
  /** Let POST /refs/resolve return values tools marked runtimeReadable: false (default false). */
  allowNonReadable: z._default(z.boolean(), false),
});
export type RefPolicy = z.output<typeof RefPolicySchema>;

export const StartSessionRequestSchema = z.strictObject({
  protocolVersion: z.literal(PROTOCOL_VERSION, { error: `must be ${PROTOCOL_VERSION}` }),
  code: z.string().check(z.minLength(1), z.maxLength(256 * 1024)),
  limits: z.optional(SessionLimitsSchema),
  refPolicy: z.optional(RefPolicySchema),
  encryption: z.optional(EncryptionRequestSchema),
});
export type StartSessionRequest = z.infer<typeof StartSessionRequestSchema>;

/** cpuMs: the sandbox's thread CPU time, what the cpuMs limit counts. */
export const RunStatsSchema = z.strictObject({
  durationMs: z.number(),
  toolCallCount: z.number().check(z.int()),
  stdoutBytes: z.number().check(z.int()),
  sandboxBytesIn: z.number().check(z.int()),
  cpuMs: z.number(),
});

export const EventPayloads = {
  session_init: z.strictObject({
    cancelUrl: z.string(),
    expiresAt: z.string(),
    encryption: z.strictObject({
      enabled: z.boolean(),
      kid: z.optional(z.string()),
      serverPublicKey: z.optional(z.string()),
      signature: z.optional(z.string()),
    }),
    sessionToken: z.optional(z.string()),
  }),
  // Exactly the seed protocol's shapes: a chunk of console.log output; a console.debug / info /
  // warn / error call with its first argument as the message and any further ones as data.
  stdout: z.strictObject({ chunk: z.string() }),
  log: z.strictObject({
    level: z.enum(["debug", "info", "warn", "error"]),
    message: z.string(),
    data: z.optional(z.record(z.string(), z.unknown())),
  }),
  tool_call: z.strictObject({ callId: z.string(), toolName: z.string(), args: z.unknown() }),
  tool_result_applied: z.strictObject({ callId: z.string() }),
  final: z.strictObject({
    ok: z.boolean(),
    result: z.optional(z.unknown()),
    error: z.optional(z.strictObject({ code: z.string(), message: z.string() })),
    stats: RunStatsSchema,
  }),
  heartbeat: z.strictObject({ ts: z.string() }),
  error: z.strictObject({ message: z.string(), code: z.string() }),
} as const;

export type EventType = keyof typeof EventPayloads;
export type EventPayload<T extends EventType> = z.infer<(typeof EventPayloads)[T]>;

const envelope = <T extends EventType>(type: T) =>
  z.strictObject({
    protocolVersion: z.literal(PROTOCOL_VERSION),
    sessionId: z.string(),
    seq: z.number().check(z.int(), z.gte(1)),
    type: z.literal(type),
    payload: EventPayloads[type],
  });

export const SessionEventSchema = z.discriminatedUnion("type", [
  envelope("session_init"),
  envelope("stdout"),
  envelope("log"),
  envelope("tool_call"),
  envelope("tool_result_applied"),
  envelope("final"),
  envelope("heartbeat"),
  envelope("error"),
]);
export type SessionEvent = z.infer<typeof SessionEventSchema>;

function isCanonicalizable(value: unknown): boolean {
  try {
    canonicalJson(value);
    return true;
  } catch {
    return false;
  }
}

/** POST /sessions/:id/input: the value for a pending `callTool("input", …)`, named by its callId. */
export const SessionInputRequestSchema = z.strictObject({
  callId: z.string().check(z.minLength(1), z.maxLength(64)),
  value: z.unknown().check(
    z.refine((value) => value !== undefined, {
      error: "required: the JSON value to hand to the script",
    }),
    // Answers are compared by their canonical JSON (RFC 8785), which refuses lone surrogates.
    z.refine((value) => value === undefined || isCanonicalizable(value), {
      error: "must be JSON that RFC 8785 can encode (no lone surrogates)",
    }),
  ),
});
export type SessionInputRequest = z.infer<typeof SessionInputRequestSchema>;

/** POST /refs/resolve (with the session's token): values for refs of that session. */
export const ResolveRefsRequestSchema = z.strictObject({
  sessionId: z.string().check(z.minLength(1), z.maxLength(64)),
  refs: z
    .array(z.string().check(z.regex(/^ref_[A-Za-z0-9_-]{1,64}$/, "must be a ref id (ref_…)")))
    .check(z.minLength(1), z.maxLength(100)),
});

export const SessionStateSchema = z.enum([
  "starting",
  "running",
  "waiting_for_tool",
  "completed",
  "cancelled",
  "failed",
]);
export type SessionState = z.infer<typeof SessionStateSchema>;

/** GET /sessions/:id. */
export const SessionStatusSchema = z.strictObject({
  sessionId: z.string(),
  state: SessionStateSchema,
  stats: RunStatsSchema,
  lastSeq: z.number().check(z.int(), z.gte(0)),
  expiresAt: z.string(),
});
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

/** POST /sessions/:id/cancel takes no fields (an encrypted session's envelope carries `{}`). */
export const CancelRequestSchema = z.strictObject({});
export const CancelReplySchema = z.strictObject({
  sessionId: z.string(),
  state: SessionStateSchema,
});
export type CancelReply = z.infer<typeof CancelReplySchema>;

/** POST /sessions/:id/input's answer: `applied` is false for a repeat of the same value. */
export const SessionInputReplySchema = z.strictObject({
  sessionId: z.string(),
  callId: z.string(),
  applied: z.boolean(),
});
export type SessionInputReply = z.infer<typeof SessionInputReplySchema>;

/** POST /refs/resolve's answer: each asked-for ref's value. */
export const ResolveRefsReplySchema = z.strictObject({
  sessionId: z.string(),
  values: z.record(z.string(), z.unknown()),
});
export type ResolveRefsReply = z.infer<typeof ResolveRefsReplySchema>;

/** What an envelope carries (DESIGN "Encryption"): base64 is standard, with padding. */
export const EnvelopePayloadSchema = z.strictObject({
  kid: z.string().check(z.maxLength(64)),
  nonceB64: z.string().check(z.maxLength(64)),
  ciphertextB64: z.string(),
});
export type EnvelopePayload = z.infer<typeof EnvelopePayloadSchema>;

/** An encrypted line (DESIGN "Encryption"): server events after session_init, client control messages, replies. */
export const EncLineSchema = z.strictObject({
  protocolVersion: z.literal(PROTOCOL_VERSION),
  sessionId: z.string().check(z.minLength(1), z.maxLength(64)),
  seq: z.number().check(z.int(), z.gte(1)),
  type: z.literal("enc"),
  payload: EnvelopePayloadSchema,
});
export type EncLine = z.infer<typeof EncLineSchema>;
