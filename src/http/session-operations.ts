// What the session endpoints state about themselves for GET /openapi.json (beside the routes in
// routes/sessions.ts, with the very schemas they parse with): each endpoint, its answers and the
// refusals every token-authorized and control endpoint shares.
import { z } from "zod";
import {
  CancelReplySchema,
  CancelRequestSchema,
  EncLineSchema,
  ResolveRefsReplySchema,
  ResolveRefsRequestSchema,
  SessionEventSchema,
  SessionInputReplySchema,
  SessionInputRequestSchema,
  SessionStatusSchema,
  StartSessionRequestSchema,
} from "../../sdk/wire/sessions.ts";
import {
  eitherOf,
  named,
  type NamedSchema,
  type Operation,
  type ResponseSpec,
} from "./operations.ts";

/** Session and control bodies are at most this large. */
export const MAX_SESSION_BODY_BYTES = 512 * 1024;

export const SessionParamsSchema = z.object({
  id: z.string().describe("The sessionId from session_init"),
});
export const StreamQuerySchema = z.object({
  fromSeq: z.coerce
    .number()
    .int()
    .min(1)
    .default(1)
    .describe("The first seq to send again (at most the last seq + 1)"),
});
const ENC_LINE = named("EncLine", EncLineSchema);
const NDJSON: ResponseSpec = {
  description:
    "application/x-ndjson: one event a line, seq rising by 1 from session_init (or fromSeq) to exactly one final or error. An encrypted session's lines after session_init are enc envelopes",
  content: { "application/x-ndjson": [named("SessionEvent", SessionEventSchema), ENC_LINE] },
};
const BODY_ERRORS: Record<number, ResponseSpec> = {
  408: { description: "The body did not arrive in full within 10 s", errors: ["request_timeout"] },
  413: {
    description: `The body is over ${MAX_SESSION_BODY_BYTES} bytes`,
    errors: ["payload_too_large"],
  },
  415: { description: "The body is not application/json", errors: ["unsupported_media_type"] },
};
const TOKEN_ERRORS: Record<number, ResponseSpec> = {
  401: { description: "No Bearer session token", errors: ["unauthorized"] },
  403: { description: "The token is not this session's", errors: ["forbidden"] },
  404: { description: "No such session (it may have ended and expired)", errors: ["not_found"] },
};
const ENCRYPTED_CONTROL =
  'An encrypted session takes the message as one enc envelope under the c2s key instead of a token and a plaintext body, and answers with an enc envelope under the reply key, the HTTP status kept (docs/protocol.md "Encrypted sessions"); every refused envelope is the same 400 decrypt_failed.';
const CONTROL_400 = ["invalid_json", "invalid_request", "envelope_required", "decrypt_failed"];

/** A control endpoint's answers: its reply, its refusals, and those every control shares. */
function controlResponses(
  reply: NamedSchema,
  refusals: Record<number, ResponseSpec>,
): Record<number, ResponseSpec> {
  // An encrypted session's answers after its envelope opened are sealed, refusals too.
  const sealed = (spec: ResponseSpec): ResponseSpec => ({
    ...spec,
    content: { "application/json": ENC_LINE },
  });
  const responses: Record<number, ResponseSpec> = { ...BODY_ERRORS, ...TOKEN_ERRORS };
  responses[200] = {
    description: "Done (encrypted sessions: the reply sealed)",
    content: { "application/json": [reply, ENC_LINE] },
  };
  responses[400] = sealed({
    description: "The body or the envelope is invalid (named in message)",
    errors: CONTROL_400,
  });
  for (const [status, spec] of Object.entries(refusals)) {
    const shared = responses[Number(status)];
    const description = shared ? eitherOf(spec.description, shared.description) : spec.description;
    responses[Number(status)] = sealed({
      description,
      errors: [...(shared?.errors ?? []), ...(spec.errors ?? [])],
    });
  }
  return responses;
}

export const sessionOperations: Operation[] = [
  {
    method: "post",
    path: "/sessions",
    operationId: "startSession",
    tag: "sessions",
    summary: "Starts an AgentScript session and streams its events",
    description:
      "The stream is the session: session_init first (with the sessionToken, or the encryption handshake), exactly one final or error last. A client that drops off may resume (GET /sessions/{id}/stream) within the disconnect grace; after it the session is cancelled.",
    security: "apiKey",
    body: {
      description:
        "The script, its limits (capped by the server's), its ref policy and optional encryption",
      content: { "application/json": named("StartSessionRequest", StartSessionRequestSchema) },
    },
    responses: {
      ...BODY_ERRORS,
      200: NDJSON,
      400: {
        description:
          "The body is invalid (each field in issues), or the client key is not a P-256 point",
        errors: ["invalid_json", "invalid_request"],
      },
      401: {
        description: "AUDITOR_API_KEYS is set and no Bearer key was sent",
        errors: ["unauthorized"],
      },
      403: { description: "The API key is not accepted", errors: ["forbidden"] },
      429: {
        description: "This caller already runs its maximum of sessions",
        errors: ["too_many_sessions"],
        headers: ["retry-after"],
      },
      503: {
        description: "The server is at its session capacity or near its memory budget",
        errors: ["at_capacity", "memory_budget"],
        headers: ["retry-after"],
      },
    },
  },
  {
    method: "get",
    path: "/sessions/:id",
    operationId: "getSession",
    tag: "sessions",
    summary: "A session's state and stats",
    params: SessionParamsSchema,
    security: "sessionToken",
    responses: {
      ...TOKEN_ERRORS,
      200: {
        description: "The state",
        content: { "application/json": named("SessionStatus", SessionStatusSchema) },
      },
    },
  },
  {
    method: "get",
    path: "/sessions/:id/stream",
    operationId: "resumeSession",
    tag: "sessions",
    summary: "The session's events again from a buffered seq, then live",
    description:
      "Resume returns the same lines that were first sent (for an encrypted session, the same ciphertext).",
    params: SessionParamsSchema,
    query: StreamQuerySchema,
    security: "sessionToken",
    responses: {
      ...TOKEN_ERRORS,
      200: NDJSON,
      400: {
        description: "fromSeq is not an integer from 1 to the last seq + 1",
        errors: ["bad_request"],
      },
      410: { description: "The events before fromSeq are no longer buffered", errors: ["gone"] },
    },
  },
  {
    method: "post",
    path: "/sessions/:id/input",
    operationId: "answerSessionInput",
    tag: "sessions",
    summary: 'The value for the script\'s pending callTool("input", …)',
    description: `The same value again is a no-op (applied: false). ${ENCRYPTED_CONTROL}`,
    params: SessionParamsSchema,
    security: "sessionToken",
    body: {
      description: "{ callId, value }, or an enc envelope",
      content: {
        "application/json": [named("SessionInputRequest", SessionInputRequestSchema), ENC_LINE],
      },
    },
    responses: controlResponses(named("SessionInputReply", SessionInputReplySchema), {
      404: { description: "No call with this callId", errors: ["unknown_call"] },
      409: {
        description:
          "A different answer was already applied, the call is not an input call, or the session ended",
        errors: ["conflict", "not_input", "session_ended"],
      },
    }),
  },
  {
    method: "post",
    path: "/sessions/:id/cancel",
    operationId: "cancelSession",
    tag: "sessions",
    summary: "Cancels the session (its stream ends with a final)",
    description: `A plaintext session needs no body. ${ENCRYPTED_CONTROL}`,
    params: SessionParamsSchema,
    security: "sessionToken",
    body: {
      description: "Nothing (plaintext), or an enc envelope whose message body is {}",
      content: { "application/json": [named("CancelRequest", CancelRequestSchema), ENC_LINE] },
      optional: true,
    },
    responses: controlResponses(named("CancelReply", CancelReplySchema), {}),
  },
  {
    method: "post",
    path: "/refs/resolve",
    operationId: "resolveRefs",
    tag: "sessions",
    summary: "The values behind a session's references (all or nothing)",
    description: `The plaintext body names the session; an envelope names it by its sessionId. ${ENCRYPTED_CONTROL}`,
    security: "sessionToken",
    body: {
      description: "{ sessionId, refs }, or an enc envelope whose message body is { refs }",
      content: {
        "application/json": [named("ResolveRefsRequest", ResolveRefsRequestSchema), ENC_LINE],
      },
    },
    responses: controlResponses(named("ResolveRefsReply", ResolveRefsReplySchema), {
      403: {
        description: "A ref holds a value that is not readable outside the tools",
        errors: ["not_readable"],
      },
      404: { description: "A ref is not this session's", errors: ["unknown_ref"] },
    }),
  },
];
