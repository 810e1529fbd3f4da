// The session wire contract (DESIGN "Sessions (NDJSON)"), shared by server and clients.
import { z } from "zod";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { CanonicalBase64Url } from "./attestation.ts";

export const PROTOCOL_VERSION = 1;

export const SessionLimitsSchema = z
  .object({
    sessionTtlMs: z.number().int().positive(),
    timeoutMs: z.number().int().positive(),
    cpuMs: z.number().int().positive(),
    memoryBytes: z.number().int().positive(),
    maxToolCalls: z.number().int().min(0),
    maxStdoutBytes: z.number().int().min(0),
    maxOutputBytes: z.number().int().min(0),
    maxConcurrentToolCalls: z.number().int().positive(),
  })
  .partial()
  .strict();
export type SessionLimits = z.infer<typeof SessionLimitsSchema>;

export const EncryptionRequestSchema = z
  .object({
    mode: z.enum(["required", "optional"]),
    clientPublicKey: CanonicalBase64Url.min(1).max(200).optional(),
  })
  .strict();

/** What happens to references the script returns, and whether clients may read non-readable ones. */
export const RefPolicySchema = z
  .object({
    /** Replace returned readable refs by their values in `final` (default true)… */
    resolveReturned: z.boolean().default(true),
    /** …while their total stays within this many bytes (default 1 MiB); larger ones stay refs. */
    maxResolvedBytes: z.number().int().min(0).max(64 * 1024 * 1024).default(1024 * 1024),
    /** Let POST /refs/resolve return values tools marked runtimeReadable: false (default false). */
    allowNonReadable: z.boolean().default(false),
  })
  .strict();
export type RefPolicy = z.output<typeof RefPolicySchema>;

export const StartSessionRequestSchema = z
  .object({
    protocolVersion: z.literal(PROTOCOL_VERSION, { error: `must be ${PROTOCOL_VERSION}` }),
    code: z.string().min(1).max(256 * 1024),
    limits: SessionLimitsSchema.optional(),
    refPolicy: RefPolicySchema.optional(),
    encryption: EncryptionRequestSchema.optional(),
  })
  .strict();
export type StartSessionRequest = z.infer<typeof StartSessionRequestSchema>;

/** cpuMs: the sandbox's thread CPU time, what the cpuMs limit counts. */
export const RunStatsSchema = z
  .object({ durationMs: z.number(), toolCallCount: z.number().int(), stdoutBytes: z.number().int(), sandboxBytesIn: z.number().int(), cpuMs: z.number() })
  .strict();

export const EventPayloads = {
  session_init: z
    .object({
      cancelUrl: z.string(),
      expiresAt: z.string(),
      encryption: z.object({ enabled: z.boolean(), kid: z.string().optional(), serverPublicKey: z.string().optional(), signature: z.string().optional() }).strict(),
      sessionToken: z.string().optional(),
    })
    .strict(),
  // Exactly the seed protocol's shapes: a chunk of console.log output; a console.debug / info /
  // warn / error call with its first argument as the message and any further ones as data.
  stdout: z.object({ chunk: z.string() }).strict(),
  log: z.object({ level: z.enum(["debug", "info", "warn", "error"]), message: z.string(), data: z.record(z.string(), z.unknown()).optional() }).strict(),
  tool_call: z.object({ callId: z.string(), toolName: z.string(), args: z.unknown() }).strict(),
  tool_result_applied: z.object({ callId: z.string() }).strict(),
  final: z
    .object({ ok: z.boolean(), result: z.unknown().optional(), error: z.object({ code: z.string(), message: z.string() }).strict().optional(), stats: RunStatsSchema })
    .strict(),
  heartbeat: z.object({ ts: z.string() }).strict(),
  error: z.object({ message: z.string(), code: z.string() }).strict(),
} as const;

export type EventType = keyof typeof EventPayloads;
export type EventPayload<T extends EventType> = z.infer<(typeof EventPayloads)[T]>;

const envelope = <T extends EventType>(type: T) =>
  z.object({ protocolVersion: z.literal(PROTOCOL_VERSION), sessionId: z.string(), seq: z.number().int().min(1), type: z.literal(type), payload: EventPayloads[type] }).strict();

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
export const SessionInputRequestSchema = z
  .object({
    callId: z.string().min(1).max(64),
    value: z
      .unknown()
      .refine((value) => value !== undefined, { error: "required: the JSON value to hand to the script" })
      // Answers are compared by their canonical JSON (RFC 8785), which refuses lone surrogates.
      .refine((value) => value === undefined || isCanonicalizable(value), {
        error: "must be JSON that RFC 8785 can encode (no lone surrogates)",
      }),
  })
  .strict();
export type SessionInputRequest = z.infer<typeof SessionInputRequestSchema>;

/** POST /refs/resolve (with the session's token): values for refs of that session. */
export const ResolveRefsRequestSchema = z
  .object({
    sessionId: z.string().min(1).max(64),
    refs: z.array(z.string().regex(/^ref_[A-Za-z0-9_-]{1,64}$/, "must be a ref id (ref_…)")).min(1).max(100),
  })
  .strict();

/** An encrypted line (DESIGN "Encryption"): server events after session_init, client control messages, replies. */
export const EncLineSchema = z
  .object({
    protocolVersion: z.literal(PROTOCOL_VERSION),
    sessionId: z.string().min(1).max(64),
    seq: z.number().int().min(1),
    type: z.literal("enc"),
    payload: z.object({ kid: z.string().max(64), nonceB64: z.string().max(64), ciphertextB64: z.string() }).strict(),
  })
  .strict();
