// Sessions over HTTP (DESIGN "Sessions (NDJSON)"): POST /sessions starts a session and streams
// its events; control endpoints need the session's token; a dropped client may resume from a
// buffered seq, and is cancelled if it does not come back within the grace window.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { DecryptError } from "../../../sdk/crypto/aes-gcm.ts";
import type { P256KeyPair } from "../../crypto/keys.ts";
import { InvalidPublicKeyError } from "../../../sdk/crypto/p256.ts";
import { ControlViolation, EncryptedChannel, PlainChannel, type SessionChannel } from "../../sessions/channel.ts";
import { secretEquals } from "../../crypto/secret-equals.ts";
import { bearer, keyAccepted } from "../bearer.ts";
import type { Logger } from "../../log.ts";
import { CallerLimitError, CapacityError, type SessionManager } from "../../sessions/manager.ts";
import { newSessionId, type Session } from "../../sessions/session.ts";
import { ToolAnswerError } from "../../sessions/tool-calls.ts";
import { RefError } from "../../sidecar/refs.ts";
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
  type CancelReply,
  type ResolveRefsReply,
  type SessionInputReply,
  type SessionStatus,
} from "../../../sdk/wire/sessions.ts";
import { refuseUnlessMediaType } from "../content-type.ts";
import { apiError, describeIssues, toApiIssues } from "../errors.ts";
import { readJsonBody } from "../json-body.ts";
import { eitherOf, named, type NamedSchema, type Operation, type ResponseSpec } from "../operations.ts";
import { readQuery } from "../query.ts";
import { peerAddress } from "../rate-limit.ts";

export const MAX_SESSION_BODY_BYTES = 512 * 1024;

const SessionParamsSchema = z.object({
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
/** What both forms of a /refs/resolve body (plaintext, enc envelope) name first: the session. */
const SessionLocatorSchema = z.object({ sessionId: z.string() });

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

export interface SessionRouteOptions {
  manager: SessionManager;
  /** Keys that may create sessions; empty means creation is open. */
  apiKeys: string[];
  disconnectGraceMs: number;
  /** Signs encrypted sessions' handshakes; clients pin its public half (kid). */
  identity: P256KeyPair;
  kid: string;
  log: Logger;
  /** Sessions across instances (with a shared store): see src/http/session-forwarding.ts. */
  remote?: RemoteSessions;
}

/** How sessions held by other instances are registered and reached. */
export interface RemoteSessions {
  /** Names this instance as the session's owner before its id is given out (throws if it cannot). */
  register(sessionId: string): Promise<void>;
  /** The owner's answer when another instance holds the session; undefined to answer here. */
  forward(c: Context, sessionId: string, body?: Uint8Array): Promise<Response | undefined>;
}

type ControlType = "cancel" | "input" | "refs_resolve";
type ControlReply = { status: number; body: unknown };

/** Session bodies are JSON (an encrypted session's control envelopes too). */
const refuseNonJson = (c: Context) => refuseUnlessMediaType(c, ["application/json"], "content-type: send application/json");

export function sessionRoutes(options: SessionRouteOptions) {
  const { manager } = options;

  const stream = (session: Session, fromSeq: number) => {
    const encoder = new TextEncoder();
    let cleanup = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        let unsubscribe = () => {};
        // Buffered lines are replayed synchronously inside subscribe(), so the final event may
        // arrive before subscribe() has returned its unsubscribe function.
        unsubscribe = session.subscribe(fromSeq, (entry) => {
          if (!open) return;
          controller.enqueue(encoder.encode(entry.line + "\n"));
          if (entry.type === "final" || entry.type === "error") {
            open = false;
            controller.close();
            unsubscribe();
          }
        });
        if (!open) unsubscribe();
        cleanup = () => {
          open = false;
          unsubscribe();
        };
      },
      cancel() {
        cleanup();
        // The client went away: give it the grace window to resume, then cancel.
        if (session.machine.terminal) return;
        setTimeout(() => {
          if (session.subscriberCount === 0 && !session.machine.terminal) {
            (session.log ?? options.log).info("session cancelled after client disconnect", { sessionId: session.id });
            session.cancel();
          }
        }, options.disconnectGraceMs).unref?.();
      },
    });
    return new Response(body, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store", "x-accel-buffering": "no" } });
  };

  /** A session another instance holds is answered by that instance. */
  const forwardUnlessHere: MiddlewareHandler = async (c, next) => {
    const id = c.req.param("id") ?? "";
    const answer = options.remote && !manager.get(id) ? await options.remote.forward(c, id) : undefined;
    return answer ?? next();
  };

  const lookup = (c: Context, sessionId: string): Session | Response =>
    manager.get(sessionId) ?? apiError(c, 404, "not_found", "no such session (it may have ended and expired)");

  /** The session, if the request carries its token; otherwise the error response. */
  const authorize = (c: Context, sessionId = c.req.param("id") ?? ""): Session | Response => {
    const session = lookup(c, sessionId);
    if (session instanceof Response) return session;
    const token = bearer(c);
    if (!token) return apiError(c, 401, "unauthorized", "authorization: send Bearer <sessionToken> from session_init");
    if (!secretEquals(token, session.token)) return apiError(c, 403, "forbidden", "authorization: this token does not belong to this session");
    return session;
  };

  /**
   * A control request. Plaintext sessions: bearer session token and a JSON body. Encrypted
   * sessions: the body is an `enc` envelope under the c2s key whose plaintext is
   * `{ seq, type, body }`, and the reply is sealed under the reply key with the same seq (HTTP
   * status kept). An envelope that does not authenticate is refused and changes nothing; an
   * authentic one that breaks the protocol ends the session with an `error` event. Either way the
   * answer is the same plain 400 (no oracle).
   */
  const control = async <S extends z.core.$ZodType>(
    c: Context,
    sessionId: string,
    type: ControlType,
    schema: S,
    handle: (session: Session, body: z.output<S>) => ControlReply | Promise<ControlReply>,
    /** The body when the route has read it already (or a fixed one for body-less plaintext requests). */
    preread?: unknown,
  ): Promise<Response> => {
    const found = lookup(c, sessionId);
    if (found instanceof Response) return found;
    const { channel } = found;
    if (!(channel instanceof EncryptedChannel)) {
      const session = authorize(c, sessionId);
      if (session instanceof Response) return session;
      let raw = preread;
      if (raw === undefined) {
        const refused = refuseNonJson(c);
        if (refused) return refused;
        const body = await readJsonBody(c, MAX_SESSION_BODY_BYTES);
        if (body instanceof Response) return body;
        raw = body.value;
      }
      const parsed = z.safeParse(schema, raw);
      if (!parsed.success) {
        const issues = toApiIssues(parsed.error);
        return apiError(c, 400, "invalid_request", describeIssues(issues), issues);
      }
      const reply = await handle(session, parsed.data);
      return c.json(reply.body as object, reply.status as ContentfulStatusCode);
    }
    const envelopeRequired = () => apiError(c, 400, "envelope_required", "this session is encrypted: send the control message as an enc envelope under the c2s key");
    let raw = type === "cancel" ? undefined : preread;
    if (raw === undefined) {
      if (!c.req.header("content-type")) return envelopeRequired();
      const refused = refuseNonJson(c);
      if (refused) return refused;
      const body = await readJsonBody(c, MAX_SESSION_BODY_BYTES);
      if (body instanceof Response) return body;
      raw = body.value;
    }
    const envelope = EncLineSchema.safeParse(raw);
    if (!envelope.success) return envelopeRequired();
    const refused = () => apiError(c, 400, "decrypt_failed", "the envelope could not be opened");
    let message;
    try {
      message = channel.openControl(envelope.data);
      if (message.type !== type) throw new ControlViolation();
    } catch (err) {
      if (err instanceof DecryptError) {
        // Not from the key holder: anyone could send it, so it changes nothing.
        options.log.warn("refused an unauthenticated session control envelope", { sessionId: found.id });
        return refused();
      }
      if (!(err instanceof ControlViolation)) throw err;
      options.log.warn("an authenticated control envelope broke the protocol; ending the session", { sessionId: found.id });
      found.failWith("encryption_error", "a control message broke the protocol; the session was closed");
      return refused();
    }
    const parsed = z.safeParse(schema, message.body);
    const reply = parsed.success
      ? await handle(found, parsed.data)
      : { status: 400, body: { error: "invalid_request", message: describeIssues(toApiIssues(parsed.error)), issues: toApiIssues(parsed.error) } };
    return c.json(channel.sealReply(message.seq, reply.status, reply.body), reply.status as ContentfulStatusCode);
  };

  return new Hono()
    .post("/sessions", async (c) => {
      // Who is asking, for the per-caller cap: the API key (by digest), else the client address.
      let caller = `address:${peerAddress(c.req.raw, c.env)}`;
      if (options.apiKeys.length > 0) {
        const key = bearer(c);
        if (!key) return apiError(c, 401, "unauthorized", "authorization: send Bearer <API key> to create sessions");
        if (!keyAccepted(key, options.apiKeys)) return apiError(c, 403, "forbidden", "authorization: this API key is not accepted");
        caller = `key:${new Bun.CryptoHasher("sha256").update(key).digest("hex")}`;
      }
      const refused = refuseNonJson(c);
      if (refused) return refused;
      const body = await readJsonBody(c, MAX_SESSION_BODY_BYTES);
      if (body instanceof Response) return body;
      const parsed = StartSessionRequestSchema.safeParse(body.value);
      if (!parsed.success) {
        const issues = toApiIssues(parsed.error);
        return apiError(c, 400, "invalid_request", describeIssues(issues), issues);
      }
      const { encryption } = parsed.data;
      if (encryption?.mode === "required" && !encryption.clientPublicKey) {
        return apiError(c, 400, "invalid_request", "encryption.clientPublicKey: required when encryption.mode is required");
      }
      const id = newSessionId();
      let channel: SessionChannel = new PlainChannel();
      if (encryption?.clientPublicKey) {
        try {
          channel = await EncryptedChannel.create(id, encryption.clientPublicKey, options.identity, options.kid);
        } catch (err) {
          if (err instanceof InvalidPublicKeyError) return apiError(c, 400, "invalid_request", `encryption.clientPublicKey: ${err.message}`);
          throw err;
        }
      }
      if (options.remote) {
        try {
          await options.remote.register(id);
        } catch (err) {
          options.log.warn("cannot register a session in the session directory", { reason: (err as Error).message });
          c.header("retry-after", "5");
          return apiError(c, 503, "directory_unavailable", "the session directory (AUDITOR_STATE_URL) cannot be written; retry shortly");
        }
      }
      let session: Session;
      try {
        session = manager.start({
          id,
          caller,
          code: parsed.data.code,
          limits: parsed.data.limits,
          refPolicy: parsed.data.refPolicy,
          channel,
          init: (s) => ({
            cancelUrl: `/sessions/${s.id}/cancel`,
            expiresAt: s.expiresAt.toISOString(),
            encryption: s.channel.handshake,
            // Encrypted sessions derive their token from the handshake: it never crosses the wire.
            ...(s.channel.encrypted ? {} : { sessionToken: s.token }),
          }),
        });
      } catch (err) {
        if (err instanceof CallerLimitError) {
          c.header("retry-after", "5");
          return apiError(c, 429, "too_many_sessions", err.message);
        }
        if (!(err instanceof CapacityError)) throw err;
        c.header("retry-after", "5");
        return apiError(c, 503, err.code, err.message);
      }
      return stream(session, 1);
    })
    .get("/sessions/:id", forwardUnlessHere, (c) => {
      const session = authorize(c);
      if (session instanceof Response) return session;
      const status: SessionStatus = {
        sessionId: session.id,
        state: session.machine.state,
        stats: session.stats,
        lastSeq: session.lastSeq,
        expiresAt: session.expiresAt.toISOString(),
      };
      return c.json(status);
    })
    .get("/sessions/:id/stream", forwardUnlessHere, (c) => {
      const session = authorize(c);
      if (session instanceof Response) return session;
      const outOfRange = () =>
        apiError(c, 400, "bad_request", `fromSeq: an integer from 1 to ${session.lastSeq + 1}`);
      const query = readQuery(c, StreamQuerySchema, "bad_request");
      if (query instanceof Response) return outOfRange();
      const { fromSeq } = query;
      if (fromSeq > session.lastSeq + 1) return outOfRange();
      if (fromSeq < session.firstBufferedSeq) {
        return apiError(c, 410, "gone", `fromSeq: events before seq ${session.firstBufferedSeq} are no longer buffered; start a new session`);
      }
      return stream(session, fromSeq);
    })
    .post("/sessions/:id/input", forwardUnlessHere, (c) => control(c, c.req.param("id"), "input", SessionInputRequestSchema, (session, body) => {
      try {
        const reply: SessionInputReply = {
          sessionId: session.id,
          callId: body.callId,
          applied: session.provideInput(body.callId, body.value),
        };
        return { status: 200, body: reply };
      } catch (err) {
        if (!(err instanceof ToolAnswerError)) throw err;
        return { status: err.status, body: { error: err.code, message: err.message } };
      }
    }))
    .post("/refs/resolve", async (c) => {
      // The session is named in the body (plaintext) or by the envelope's sessionId (encrypted).
      const refused = refuseNonJson(c);
      if (refused) return refused;
      const body = await readJsonBody(c, MAX_SESSION_BODY_BYTES);
      if (body instanceof Response) return body;
      const located = SessionLocatorSchema.safeParse(body.value);
      if (!located.success) return apiError(c, 400, "invalid_request", "sessionId: required");
      const { sessionId } = located.data;
      if (options.remote && !manager.get(sessionId)) {
        // The owner gets the client's exact bytes.
        const answer = await options.remote.forward(c, sessionId, body.bytes);
        if (answer) return answer;
      }
      return control(c, sessionId, "refs_resolve", z.strictObject({ refs: ResolveRefsRequestSchema.shape.refs, sessionId: z.string().optional() }), (session, request) => {
        if (request.sessionId !== undefined && request.sessionId !== session.id) return { status: 400, body: { error: "invalid_request", message: "sessionId: does not match the envelope's session" } };
        try {
          const values = Object.fromEntries(request.refs.map((id) => [id, session.sidecar.resolveForClient(id, session.refPolicy.allowNonReadable)]));
          const reply: ResolveRefsReply = { sessionId: session.id, values };
          return { status: 200, body: reply };
        } catch (err) {
          if (!(err instanceof RefError)) throw err;
          return { status: err.code === "not_readable" ? 403 : 404, body: { error: err.code, message: `refs: ${err.message}` } };
        }
      }, body.value);
    })
    .post("/sessions/:id/cancel", forwardUnlessHere, (c) => control(c, c.req.param("id"), "cancel", CancelRequestSchema, async (session) => {
      session.cancel();
      await Promise.race([session.ended, Bun.sleep(1_000)]);
      const reply: CancelReply = { sessionId: session.id, state: session.machine.state };
      return { status: 200, body: reply };
    }, {}));
}
