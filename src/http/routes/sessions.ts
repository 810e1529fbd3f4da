// Sessions over HTTP (DESIGN "Sessions (NDJSON)"): POST /sessions starts a session and streams
// its events; control endpoints need the session's token; a dropped client may resume from a
// buffered seq, and is cancelled if it does not come back within the grace window.
import { Hono, type Context } from "hono";
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
import { EncLineSchema, ResolveRefsRequestSchema, SessionInputRequestSchema, StartSessionRequestSchema } from "../../../sdk/wire/sessions.ts";
import { refuseUnlessMediaType } from "../content-type.ts";
import { apiError, describeIssues, toApiIssues } from "../errors.ts";
import { readJsonBody } from "../json-body.ts";
import { peerAddress } from "../rate-limit.ts";

export const MAX_SESSION_BODY_BYTES = 512 * 1024;

export interface SessionRouteOptions {
  manager: SessionManager;
  /** Keys that may create sessions; empty means creation is open. */
  apiKeys: string[];
  disconnectGraceMs: number;
  /** Signs encrypted sessions' handshakes; clients pin its public half (kid). */
  identity: P256KeyPair;
  kid: string;
  log: Logger;
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
            options.log.info("session cancelled after client disconnect", { sessionId: session.id });
            session.cancel();
          }
        }, options.disconnectGraceMs).unref?.();
      },
    });
    return new Response(body, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store", "x-accel-buffering": "no" } });
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
    .get("/sessions/:id", (c) => {
      const session = authorize(c);
      if (session instanceof Response) return session;
      return c.json({ sessionId: session.id, state: session.machine.state, stats: session.stats, lastSeq: session.lastSeq, expiresAt: session.expiresAt.toISOString() });
    })
    .get("/sessions/:id/stream", (c) => {
      const session = authorize(c);
      if (session instanceof Response) return session;
      const fromSeq = Number(c.req.query("fromSeq") ?? "1");
      if (!Number.isInteger(fromSeq) || fromSeq < 1 || fromSeq > session.lastSeq + 1) {
        return apiError(c, 400, "bad_request", `fromSeq: an integer from 1 to ${session.lastSeq + 1}`);
      }
      if (fromSeq < session.firstBufferedSeq) {
        return apiError(c, 410, "gone", `fromSeq: events before seq ${session.firstBufferedSeq} are no longer buffered; start a new session`);
      }
      return stream(session, fromSeq);
    })
    .post("/sessions/:id/input", (c) => control(c, c.req.param("id"), "input", SessionInputRequestSchema, (session, body) => {
      try {
        const applied = session.provideInput(body.callId, body.value);
        return { status: 200, body: { sessionId: session.id, callId: body.callId, applied } };
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
      const sessionId = (body.value as { sessionId?: unknown } | null)?.sessionId;
      if (typeof sessionId !== "string") return apiError(c, 400, "invalid_request", "sessionId: required");
      return control(c, sessionId, "refs_resolve", z.strictObject({ refs: ResolveRefsRequestSchema.shape.refs, sessionId: z.string().optional() }), (session, request) => {
        if (request.sessionId !== undefined && request.sessionId !== session.id) return { status: 400, body: { error: "invalid_request", message: "sessionId: does not match the envelope's session" } };
        try {
          const values = Object.fromEntries(request.refs.map((id) => [id, session.sidecar.resolveForClient(id, session.refPolicy.allowNonReadable)]));
          return { status: 200, body: { sessionId: session.id, values } };
        } catch (err) {
          if (!(err instanceof RefError)) throw err;
          return { status: err.code === "not_readable" ? 403 : 404, body: { error: err.code, message: `refs: ${err.message}` } };
        }
      }, body.value);
    })
    .post("/sessions/:id/cancel", (c) => control(c, c.req.param("id"), "cancel", z.object({}).strict(), async (session) => {
      session.cancel();
      await Promise.race([session.ended, Bun.sleep(1_000)]);
      return { status: 200, body: { sessionId: session.id, state: session.machine.state } };
    }, {}));
}
