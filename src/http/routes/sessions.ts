// Sessions over HTTP (DESIGN "Sessions (NDJSON)"): POST /sessions starts a session and streams
// its events; control endpoints need the session's token; a dropped client may resume from a
// buffered seq, and is cancelled if it does not come back within the grace window.
import { Hono, type Context } from "hono";
import { bytesEqual, utf8 } from "../../crypto/encoding.ts";
import type { Logger } from "../../log.ts";
import { CapacityError, type SessionManager } from "../../sessions/manager.ts";
import type { Session } from "../../sessions/session.ts";
import { ToolAnswerError } from "../../sessions/tool-calls.ts";
import { RefError } from "../../sidecar/refs.ts";
import { ResolveRefsRequestSchema, SessionInputRequestSchema, StartSessionRequestSchema } from "../../../sdk/wire/sessions.ts";
import { apiError, describeIssues, toApiIssues } from "../errors.ts";
import { readJsonBody } from "../json-body.ts";

export const MAX_SESSION_BODY_BYTES = 512 * 1024;

export interface SessionRouteOptions {
  manager: SessionManager;
  /** Keys that may create sessions; empty means creation is open. */
  apiKeys: string[];
  disconnectGraceMs: number;
  log: Logger;
}

function bearer(c: Context): string | undefined {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

const constantTimeEquals = (a: string, b: string) => bytesEqual(utf8(a), utf8(b));

export function sessionRoutes(options: SessionRouteOptions) {
  const { manager } = options;

  const stream = (session: Session, fromSeq: number) => {
    const encoder = new TextEncoder();
    let cleanup = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        let unsubscribe = () => {};
        // Buffered events are replayed synchronously inside subscribe(), so the final event may
        // arrive before subscribe() has returned its unsubscribe function.
        unsubscribe = session.subscribe(fromSeq, (event) => {
          if (!open) return;
          controller.enqueue(encoder.encode(JSON.stringify(event) + "\n"));
          if (event.type === "final" || event.type === "error") {
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

  /** The session, if the request carries its token; otherwise the error response. */
  const authorize = (c: Context, sessionId = c.req.param("id") ?? ""): Session | Response => {
    const session = manager.get(sessionId);
    if (!session) return apiError(c, 404, "not_found", "no such session (it may have ended and expired)");
    const token = bearer(c);
    if (!token) return apiError(c, 401, "unauthorized", "authorization: send Bearer <sessionToken> from session_init");
    if (!constantTimeEquals(token, session.token)) return apiError(c, 403, "forbidden", "authorization: this token does not belong to this session");
    return session;
  };

  return new Hono()
    .post("/sessions", async (c) => {
      if (options.apiKeys.length > 0) {
        const key = bearer(c);
        if (!key) return apiError(c, 401, "unauthorized", "authorization: send Bearer <API key> to create sessions");
        // Compare against every key, so timing does not tell which one nearly matched.
        let ok = false;
        for (const candidate of options.apiKeys) ok = constantTimeEquals(key, candidate) || ok;
        if (!ok) return apiError(c, 403, "forbidden", "authorization: this API key is not accepted");
      }
      const body = await readJsonBody(c, MAX_SESSION_BODY_BYTES);
      if (body instanceof Response) return body;
      const parsed = StartSessionRequestSchema.safeParse(body.value);
      if (!parsed.success) {
        const issues = toApiIssues(parsed.error);
        return apiError(c, 400, "invalid_request", describeIssues(issues), issues);
      }
      if (parsed.data.encryption?.mode === "required") {
        return apiError(c, 501, "encryption_unavailable", "encryption: end-to-end encrypted sessions are not available on this server yet");
      }
      let session: Session;
      try {
        session = manager.start(parsed.data.code, parsed.data.limits ?? {}, (s) => ({
          cancelUrl: `/sessions/${s.id}/cancel`,
          expiresAt: s.expiresAt.toISOString(),
          encryption: { enabled: false },
          sessionToken: s.token,
        }), parsed.data.refPolicy);
      } catch (err) {
        if (!(err instanceof CapacityError)) throw err;
        c.header("retry-after", "5");
        return apiError(c, 503, "at_capacity", err.message);
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
    .post("/sessions/:id/input", async (c) => {
      const session = authorize(c);
      if (session instanceof Response) return session;
      const body = await readJsonBody(c, MAX_SESSION_BODY_BYTES);
      if (body instanceof Response) return body;
      const parsed = SessionInputRequestSchema.safeParse(body.value);
      if (!parsed.success) {
        const issues = toApiIssues(parsed.error);
        return apiError(c, 400, "invalid_request", describeIssues(issues), issues);
      }
      try {
        const applied = session.provideInput(parsed.data.callId, parsed.data.value);
        return c.json({ sessionId: session.id, callId: parsed.data.callId, applied });
      } catch (err) {
        if (!(err instanceof ToolAnswerError)) throw err;
        return apiError(c, err.status, err.code, err.message);
      }
    })
    .post("/refs/resolve", async (c) => {
      const body = await readJsonBody(c, MAX_SESSION_BODY_BYTES);
      if (body instanceof Response) return body;
      const parsed = ResolveRefsRequestSchema.safeParse(body.value);
      if (!parsed.success) {
        const issues = toApiIssues(parsed.error);
        return apiError(c, 400, "invalid_request", describeIssues(issues), issues);
      }
      const session = authorize(c, parsed.data.sessionId);
      if (session instanceof Response) return session;
      try {
        const values = Object.fromEntries(parsed.data.refs.map((id) => [id, session.sidecar.resolveForClient(id, session.refPolicy.allowNonReadable)]));
        return c.json({ sessionId: session.id, values });
      } catch (err) {
        if (!(err instanceof RefError)) throw err;
        return apiError(c, err.code === "not_readable" ? 403 : 404, err.code, `refs: ${err.message}`);
      }
    })
    .post("/sessions/:id/cancel", async (c) => {
      const session = authorize(c);
      if (session instanceof Response) return session;
      session.cancel();
      await Promise.race([session.ended, Bun.sleep(1_000)]);
      return c.json({ sessionId: session.id, state: session.machine.state });
    });
}
