// Sessions over HTTP (DESIGN "Sessions (NDJSON)"): POST /sessions starts a session and streams
// its events; control endpoints need the session's token; a dropped client may resume from a
// buffered seq, and is cancelled if it does not come back within the grace window.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { P256KeyPair } from "../../crypto/index.ts";
import { InvalidPublicKeyError } from "../../../sdk/crypto/p256.ts";
import {
  CallerLimitError,
  CapacityError,
  EncryptedChannel,
  PlainChannel,
  ToolAnswerError,
  newSessionId,
  type Session,
  type SessionChannel,
  type SessionManager,
} from "../../sessions/index.ts";
import { bearer, keyAccepted } from "../bearer.ts";
import type { Logger } from "../../log.ts";
import { RefError } from "../../sidecar/index.ts";
import {
  CancelRequestSchema,
  ResolveRefsRequestSchema,
  SessionInputRequestSchema,
  StartSessionRequestSchema,
  type CancelReply,
  type ResolveRefsReply,
  type SessionInputReply,
  type SessionStatus,
} from "../../../sdk/wire/sessions.ts";
import { apiError, describeIssues, toApiIssues } from "../errors.ts";
import { readQuery } from "../query.ts";
import { peerAddress } from "../rate-limit.ts";
import {
  readSessionBody,
  SessionAccess,
  type ControlReply,
  type SessionEnv,
} from "../session-control.ts";
import { StreamQuerySchema } from "../session-operations.ts";
import { sessionEventStream } from "../session-stream.ts";

/** What both forms of a /refs/resolve body (plaintext, enc envelope) name first: the session. */
const SessionLocatorSchema = z.object({ sessionId: z.string() });

export interface SessionRouteOptions {
  manager: SessionManager;
  /** Keys that may create sessions; empty means creation is open. */
  apiKeys: string[];
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

export function sessionRoutes(options: SessionRouteOptions) {
  const { manager } = options;
  const access = new SessionAccess(manager, options.log);
  const stream = (session: Session, fromSeq: number) =>
    sessionEventStream(session, fromSeq, () => manager.readerLeft(session));

  const sessionId = (c: Context) => c.req.param("id") ?? "";
  /** A session another instance holds is answered by that instance. */
  const forwardUnlessHere: MiddlewareHandler = async (c, next) => {
    const id = sessionId(c);
    const answer =
      options.remote && !manager.get(id) ? await options.remote.forward(c, id) : undefined;
    return answer ?? next();
  };

  /**
   * /refs/resolve names its session in the body (plaintext) or by the envelope's sessionId
   * (encrypted): read it, hand a session held elsewhere to its owner, else note where it is.
   */
  const locateInBody: MiddlewareHandler<SessionEnv> = async (c, next) => {
    const body = await readSessionBody(c);
    if (body instanceof Response) return body;
    const located = SessionLocatorSchema.safeParse(body.value);
    if (!located.success) return apiError(c, 400, "invalid_request", "sessionId: required");
    const { sessionId } = located.data;
    if (options.remote && !manager.get(sessionId)) {
      // The owner gets the client's exact bytes.
      const answer = await options.remote.forward(c, sessionId, body.bytes);
      if (answer) return answer;
    }
    c.set("located", { sessionId, body: body.value });
    await next();
  };

  return new Hono<SessionEnv>()
    .post("/sessions", async (c) => {
      // Who is asking, for the per-caller cap: the API key (by digest), else the client address.
      let caller = `address:${peerAddress(c.req.raw, c.env)}`;
      if (options.apiKeys.length > 0) {
        const key = bearer(c);
        if (!key)
          return apiError(
            c,
            401,
            "unauthorized",
            "authorization: send Bearer <API key> to create sessions",
          );
        if (!keyAccepted(key, options.apiKeys))
          return apiError(c, 403, "forbidden", "authorization: this API key is not accepted");
        caller = `key:${new Bun.CryptoHasher("sha256").update(key).digest("hex")}`;
      }
      const body = await readSessionBody(c);
      if (body instanceof Response) return body;
      const parsed = StartSessionRequestSchema.safeParse(body.value);
      if (!parsed.success) {
        const issues = toApiIssues(parsed.error);
        return apiError(c, 400, "invalid_request", describeIssues(issues), issues);
      }
      const { encryption } = parsed.data;
      if (encryption?.mode === "required" && !encryption.clientPublicKey) {
        return apiError(
          c,
          400,
          "invalid_request",
          "encryption.clientPublicKey: required when encryption.mode is required",
        );
      }
      const id = newSessionId();
      let channel: SessionChannel = new PlainChannel();
      if (encryption?.clientPublicKey) {
        try {
          channel = await EncryptedChannel.create(
            id,
            encryption.clientPublicKey,
            options.identity,
            options.kid,
          );
        } catch (err) {
          if (err instanceof InvalidPublicKeyError)
            return apiError(
              c,
              400,
              "invalid_request",
              `encryption.clientPublicKey: ${err.message}`,
            );
          throw err;
        }
      }
      if (options.remote) {
        try {
          await options.remote.register(id);
        } catch (err) {
          options.log.warn("cannot register a session in the session directory", {
            reason: (err as Error).message,
          });
          c.header("retry-after", "5");
          return apiError(
            c,
            503,
            "directory_unavailable",
            "the session directory (AUDITOR_STATE_URL) cannot be written; retry shortly",
          );
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
    .get("/sessions/:id", forwardUnlessHere, access.tokenRequired, (c) => {
      const session = c.var.session;
      const status: SessionStatus = {
        sessionId: session.id,
        state: session.machine.state,
        stats: session.stats,
        lastSeq: session.lastSeq,
        expiresAt: session.expiresAt.toISOString(),
      };
      return c.json(status);
    })
    .get("/sessions/:id/stream", forwardUnlessHere, access.tokenRequired, (c) => {
      const session = c.var.session;
      const outOfRange = () =>
        apiError(c, 400, "bad_request", `fromSeq: an integer from 1 to ${session.lastSeq + 1}`);
      const query = readQuery(c, StreamQuerySchema, "bad_request");
      if (query instanceof Response) return outOfRange();
      const { fromSeq } = query;
      if (fromSeq > session.lastSeq + 1) return outOfRange();
      if (fromSeq < session.firstBufferedSeq) {
        return apiError(
          c,
          410,
          "gone",
          `fromSeq: events before seq ${session.firstBufferedSeq} are no longer buffered; start a new session`,
        );
      }
      return stream(session, fromSeq);
    })
    .post(
      "/sessions/:id/input",
      forwardUnlessHere,
      access.control({
        type: "input",
        schema: SessionInputRequestSchema,
        body: "request",
        handle: answerInput,
      }),
    )
    .post(
      "/refs/resolve",
      locateInBody,
      access.control({
        type: "refs_resolve",
        schema: ResolveBodySchema,
        body: "located",
        handle: resolveRefs,
      }),
    )
    .post(
      "/sessions/:id/cancel",
      forwardUnlessHere,
      access.control({ type: "cancel", schema: CancelRequestSchema, body: "none", handle: cancel }),
    );
}

function answerInput(
  session: Session,
  body: z.output<typeof SessionInputRequestSchema>,
): ControlReply {
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
}

/** A plaintext body names its session; an envelope's message body may repeat it. */
const ResolveBodySchema = z.strictObject({
  refs: ResolveRefsRequestSchema.shape.refs,
  sessionId: z.string().optional(),
});

function resolveRefs(session: Session, request: z.output<typeof ResolveBodySchema>): ControlReply {
  if (request.sessionId !== undefined && request.sessionId !== session.id) {
    return {
      status: 400,
      body: {
        error: "invalid_request",
        message: "sessionId: does not match the envelope's session",
      },
    };
  }
  try {
    const values = Object.fromEntries(
      request.refs.map((id) => [
        id,
        session.sidecar.resolveForClient(id, session.refPolicy.allowNonReadable),
      ]),
    );
    const reply: ResolveRefsReply = { sessionId: session.id, values };
    return { status: 200, body: reply };
  } catch (err) {
    if (!(err instanceof RefError)) throw err;
    return {
      status: err.code === "not_readable" ? 403 : 404,
      body: { error: err.code, message: `refs: ${err.message}` },
    };
  }
}

async function cancel(session: Session): Promise<ControlReply> {
  session.cancel();
  // The reply says where the session got to: ended, or still winding down after a second.
  await Promise.race([session.ended, Bun.sleep(1_000)]);
  const reply: CancelReply = { sessionId: session.id, state: session.machine.state };
  return { status: 200, body: reply };
}
