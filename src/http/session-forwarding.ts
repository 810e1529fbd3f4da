// Sessions across instances, the HTTP side: a request for a session this instance does not
// hold is looked up in the session directory and, when another instance owns it, forwarded over
// the peer channel; the owner's answer is returned as it comes (status, the headers that matter,
// the body). The Authorization header crosses only inside the sealed channel, and an encrypted
// session's envelopes are passed on unopened. A request that arrived over the peer channel is
// never forwarded again. Failures are plain answers: 503 session_owner_unavailable when the
// owner cannot be reached (or was marked down), 503 directory_unavailable when the store cannot
// be read.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "../log.ts";
import type { SessionDirectory, PeerDialer } from "../sessions/index.ts";
import { apiError } from "./errors.ts";
import { readBodyBytes } from "./json-body.ts";
import type { RemoteSessions } from "./routes/sessions.ts";
import { MAX_SESSION_BODY_BYTES } from "./session-operations.ts";

/** The `env` of a request that came over the peer channel (the owner's side). */
export const FORWARDED_ENV = Object.freeze({ forwarded: true });

/** Seconds a client should wait before asking again for a session whose owner is unavailable. */
const RETRY_AFTER_S = "5";

export function sessionForwarding(
  directory: SessionDirectory,
  peers: PeerDialer,
  log: Logger,
): RemoteSessions {
  const unavailable = (c: Context, status: ContentfulStatusCode, code: string, message: string) => {
    c.header("retry-after", RETRY_AFTER_S);
    return apiError(c, status, code, message);
  };
  return {
    register: (sessionId) => directory.register(sessionId),

    async forward(c, sessionId, body) {
      if (c.env === FORWARDED_ENV) return undefined;
      let owner;
      try {
        owner = await directory.owner(sessionId);
      } catch (err) {
        log.warn("the session directory cannot be read", { reason: (err as Error).message });
        return unavailable(
          c,
          503,
          "directory_unavailable",
          "the session directory (AUDITOR_STATE_URL) cannot be read; retry shortly",
        );
      }
      if (!owner || directory.isSelf(owner)) return undefined;
      const ownerUnavailable = () =>
        unavailable(
          c,
          503,
          "session_owner_unavailable",
          "the instance that holds this session cannot be reached; if it stopped, the session ended with it",
        );
      if (peers.isDown(owner.url)) return ownerUnavailable();
      let bytes = body ?? null;
      if (bytes === null && c.req.method === "POST") {
        const read = await readBodyBytes(c, MAX_SESSION_BODY_BYTES);
        if (read instanceof Response) return read;
        bytes = read.bytes.length > 0 ? read.bytes : null;
      }
      const url = new URL(c.req.url);
      const authorization = c.req.header("authorization");
      const contentType = c.req.header("content-type");
      const reply = await peers.forward(owner, {
        method: c.req.method === "POST" ? "POST" : "GET",
        path: url.pathname + url.search,
        headers: {
          ...(authorization ? { authorization } : {}),
          ...(contentType ? { "content-type": contentType } : {}),
        },
        body: bytes,
      });
      if (!reply.ok && reply.invalid) return apiError(c, 400, "invalid_request", reply.reason);
      if (!reply.ok) {
        log.warn("could not forward a session request to its owner", {
          owner: owner.instanceId,
          reason: reply.reason,
        });
        return ownerUnavailable();
      }
      return new Response(reply.body, { status: reply.status, headers: reply.headers });
    },
  };
}
