// Who may touch a session and how its control messages arrive (DESIGN "Sessions (NDJSON)",
// docs/protocol.md "Encrypted sessions"): a plaintext session takes its token as a Bearer header
// and a JSON body; an encrypted one takes one `enc` envelope under the c2s key instead, and is
// answered sealed under the reply key. As hono middleware and handlers: routes/sessions.ts says
// what each control does.
import type { Context, Handler, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { DecryptError } from "../../sdk/crypto/aes-gcm.ts";
import { EncLineSchema } from "../../sdk/wire/sessions.ts";
import { secretEquals } from "../crypto/index.ts";
import type { Logger } from "../log.ts";
import {
  ControlViolation,
  EncryptedChannel,
  type Session,
  type SessionManager,
} from "../sessions/index.ts";
import { bearer } from "./bearer.ts";
import { refuseUnlessMediaType } from "./content-type.ts";
import { apiError, describeIssues, noteErrorCode, toApiIssues } from "./errors.ts";
import { readJsonBody } from "./json-body.ts";
import { MAX_SESSION_BODY_BYTES } from "./session-operations.ts";

export type ControlType = "cancel" | "input" | "refs_resolve";
export type ControlReply = { status: number; body: unknown };

/** What the session middleware leaves for the handlers after it. */
export type SessionEnv = {
  Variables: {
    /** The token-authorized session (set by SessionAccess.tokenRequired). */
    session: Session;
    /** A control request whose route found the session in its body: that id and that body. */
    located: { sessionId: string; body: unknown };
  };
};

export interface Control<S extends z.core.$ZodType> {
  type: ControlType;
  /** The message body's shape (the plaintext body, or the opened envelope's `body`). */
  schema: S;
  handle: (session: Session, body: z.output<S>) => ControlReply | Promise<ControlReply>;
  /**
   * Where the message is: `request` reads the body, `located` takes the body the route read to
   * find the session (c.var.located), `none` is a plaintext control without a body (any sent is
   * ignored), whose encrypted form still reads its envelope.
   */
  body: "request" | "located" | "none";
}

/** Session bodies are JSON (an encrypted session's control envelopes too). */
const refuseNonJson = (c: Context) =>
  refuseUnlessMediaType(c, ["application/json"], "content-type: send application/json");

/** The request's JSON body under the session body cap, or the refusal to send. */
export async function readSessionBody(
  c: Context,
): Promise<{ value: unknown; bytes: Uint8Array } | Response> {
  return refuseNonJson(c) ?? readJsonBody(c, MAX_SESSION_BODY_BYTES);
}

/** The session middleware: token checks and control messages, plaintext or sealed. */
export class SessionAccess {
  constructor(
    private readonly manager: SessionManager,
    private readonly log: Logger,
  ) {}

  /** Sets c.var.session to the :id session if the request carries its token; else refuses. */
  readonly tokenRequired: MiddlewareHandler<SessionEnv> = async (c, next) => {
    const session = this.find(c, c.req.param("id") ?? "");
    if (session instanceof Response) return session;
    const refused = this.tokenRefusal(c, session);
    if (refused) return refused;
    c.set("session", session);
    await next();
  };

  /**
   * The handler for one control message to the :id session (or c.var.located's). An envelope
   * that does not authenticate is refused and changes nothing; an authentic one that breaks the
   * protocol ends the session with an `error` event. Either way the answer is the same plain 400
   * (no oracle).
   */
  control<S extends z.core.$ZodType>(control: Control<S>): Handler<SessionEnv> {
    return async (c) => {
      const located = control.body === "located" ? c.get("located") : undefined;
      const session = this.find(c, located?.sessionId ?? c.req.param("id") ?? "");
      if (session instanceof Response) return session;
      const { channel } = session;
      if (!(channel instanceof EncryptedChannel))
        return this.plaintext(c, session, control, located);

      let raw: unknown;
      if (located) raw = located.body;
      else {
        if (!c.req.header("content-type")) return this.envelopeRequired(c);
        const body = await readSessionBody(c);
        if (body instanceof Response) return body;
        raw = body.value;
      }
      const envelope = EncLineSchema.safeParse(raw);
      if (!envelope.success) return this.envelopeRequired(c);
      let message;
      try {
        message = channel.openControl(envelope.data);
        if (message.type !== control.type) throw new ControlViolation();
      } catch (err) {
        if (err instanceof DecryptError) {
          // Not from the key holder: anyone could send it, so it changes nothing.
          this.log.warn("refused an unauthenticated session control envelope", {
            sessionId: session.id,
          });
          return this.decryptFailed(c);
        }
        if (!(err instanceof ControlViolation)) throw err;
        this.log.warn("an authenticated control envelope broke the protocol; ending the session", {
          sessionId: session.id,
        });
        session.failWith(
          "encryption_error",
          "a control message broke the protocol; the session was closed",
        );
        return this.decryptFailed(c);
      }
      const parsed = z.safeParse(control.schema, message.body);
      const reply = parsed.success
        ? await control.handle(session, parsed.data)
        : invalidRequest(parsed.error);
      return c.json(
        channel.sealReply(message.seq, reply.status, reply.body),
        reply.status as ContentfulStatusCode,
      );
    };
  }

  private find(c: Context, sessionId: string): Session | Response {
    return (
      this.manager.get(sessionId) ??
      apiError(c, 404, "not_found", "no such session (it may have ended and expired)")
    );
  }

  private async plaintext<S extends z.core.$ZodType>(
    c: Context,
    session: Session,
    control: Control<S>,
    located: { body: unknown } | undefined,
  ): Promise<Response> {
    const refused = this.tokenRefusal(c, session);
    if (refused) return refused;
    let raw: unknown = {};
    if (located) raw = located.body;
    else if (control.body === "request") {
      const body = await readSessionBody(c);
      if (body instanceof Response) return body;
      raw = body.value;
    }
    const parsed = z.safeParse(control.schema, raw);
    const reply = parsed.success
      ? await control.handle(session, parsed.data)
      : invalidRequest(parsed.error);
    // Only the plaintext answer's code reaches the metrics: a sealed one stays the client's.
    const { error } = reply.body as { error?: unknown };
    if (typeof error === "string") noteErrorCode(c, error);
    return c.json(reply.body as object, reply.status as ContentfulStatusCode);
  }

  private tokenRefusal(c: Context, session: Session): Response | undefined {
    const token = bearer(c);
    if (!token)
      return apiError(
        c,
        401,
        "unauthorized",
        "authorization: send Bearer <sessionToken> from session_init",
      );
    if (!secretEquals(token, session.token))
      return apiError(
        c,
        403,
        "forbidden",
        "authorization: this token does not belong to this session",
      );
    return undefined;
  }

  private envelopeRequired(c: Context): Response {
    return apiError(
      c,
      400,
      "envelope_required",
      "this session is encrypted: send the control message as an enc envelope under the c2s key",
    );
  }

  private decryptFailed(c: Context): Response {
    return apiError(c, 400, "decrypt_failed", "the envelope could not be opened");
  }
}

function invalidRequest(error: z.core.$ZodError): ControlReply {
  const issues = toApiIssues(error);
  return {
    status: 400,
    body: { error: "invalid_request", message: describeIssues(issues), issues },
  };
}
