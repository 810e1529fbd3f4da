// A session seen from the client: starts it (optionally with the pinned-key handshake) or
// reattaches to a running plaintext one, reads its NDJSON stream in order, resumes from the last
// seq when the connection drops, and sends control messages (sealed when the session is
// encrypted).
import { DecryptError } from "../crypto/aes-gcm.ts";
import { fromBase64Url, toBase64Url } from "../crypto/encoding.ts";
import { openEnvelope, sealEnvelope } from "../crypto/envelope.ts";
import { deriveSessionKeys, sessionTranscript, type SessionKeys } from "../crypto/handshake.ts";
import { deriveSharedX, verifyP256 } from "../crypto/p256.ts";
import type { z } from "zod/mini";
import {
  CancelReplySchema,
  EncLineSchema,
  PROTOCOL_VERSION,
  ResolveRefsReplySchema,
  SessionEventSchema,
  SessionInputReplySchema,
  SessionStatusSchema,
  type CancelReply,
  type RefPolicy,
  type SessionEvent,
  type SessionInputReply,
  type SessionLimits,
  type SessionStatus,
} from "../wire/sessions.ts";
import { follow, untilAborted, type CallOptions } from "./abort.ts";
import {
  AuditorError,
  HandshakeError,
  HttpError,
  LIMIT_CODES,
  LimitError,
  NetworkError,
  ProtocolError,
  SessionFailedError,
} from "./errors.ts";
import { httpError, send, type Fetch } from "./http.ts";
import { ndjsonLines, type NdjsonLine } from "./ndjson.ts";
import { parseWire } from "./parse.ts";

export interface StartSessionOptions {
  limits?: SessionLimits;
  refPolicy?: Partial<RefPolicy>;
  /** "required": refuse to run unencrypted; "optional": encrypt when the server can. Needs pinnedKeys. */
  encryption?: "required" | "optional";
  /** How often to try resuming a dropped stream before giving up (default 5). */
  maxResumeAttempts?: number;
  /** Aborting it stops the start, or, once the session runs, closes its stream as close() does. */
  signal?: AbortSignal;
}

export interface ConnectOptions {
  /**
   * The first event to read (default 1: from session_init, which is not yielded). The server
   * keeps a window of recent events; an older seq is an HttpError 410.
   */
  fromSeq?: number;
  /** How often to try resuming a dropped stream before giving up (default 5). */
  maxResumeAttempts?: number;
  /** Aborting it stops connecting, or, once connected, closes the stream as close() does. */
  signal?: AbortSignal;
}

export interface SessionContext {
  baseUrl: string;
  fetch: Fetch;
  apiKey?: string;
  /** The pinned identity key (and its kid), for encrypted sessions. */
  identity?: (signal?: AbortSignal) => Promise<{ key: Uint8Array; kid: string }>;
}

interface Crypto {
  keys: SessionKeys;
  kid: string;
}

type Final = Extract<SessionEvent, { type: "final" }>;
type Terminal = Final | Extract<SessionEvent, { type: "error" }>;

export class SessionHandle implements AsyncIterable<SessionEvent> {
  private readonly queue: SessionEvent[] = [];
  private wake: (() => void) | undefined;
  private terminal: Terminal | undefined;
  private failure: Error | undefined;
  private lastSeq: number;
  private controlSeq = 0;
  private controlChain: Promise<unknown> = Promise.resolve();
  private readonly stream = new AbortController();
  private readonly settled: Promise<void>;

  private constructor(
    private readonly ctx: SessionContext,
    readonly id: string,
    readonly expiresAt: string,
    private readonly token: string,
    private readonly crypto: Crypto | undefined,
    firstSeq: number,
    lines: AsyncGenerator<NdjsonLine>,
    private readonly maxResumeAttempts: number,
  ) {
    this.lastSeq = firstSeq;
    this.settled = this.pump(lines);
  }

  get encrypted(): boolean {
    return this.crypto !== undefined;
  }

  /** The token connect() reattaches with, for plaintext sessions; encrypted ones cannot be. */
  get sessionToken(): string | undefined {
    return this.crypto ? undefined : this.token;
  }

  /** Starts a session; resolves once its session_init (and handshake) checked out. */
  static async start(
    ctx: SessionContext,
    code: string,
    options: StartSessionOptions = {},
  ): Promise<SessionHandle> {
    let client: { pair: CryptoKeyPair; publicKey: Uint8Array } | undefined;
    if (options.encryption) {
      const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
        "deriveBits",
      ])) as CryptoKeyPair;
      client = {
        pair,
        publicKey: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)),
      };
    }
    const abort = new AbortController();
    follow(options.signal, abort);
    const response = await send(ctx.fetch, `${ctx.baseUrl}/sessions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(ctx.apiKey ? { authorization: `Bearer ${ctx.apiKey}` } : {}),
      },
      body: JSON.stringify({
        protocolVersion: PROTOCOL_VERSION,
        code,
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.refPolicy ? { refPolicy: options.refPolicy } : {}),
        ...(client
          ? {
              encryption: {
                mode: options.encryption,
                clientPublicKey: toBase64Url(client.publicKey),
              },
            }
          : {}),
      }),
      signal: abort.signal,
    });
    if (!response.ok) throw await httpError(response);
    if (!response.body) throw new ProtocolError("the session response has no body");
    const lines = ndjsonLines(response.body);
    const first = await lines.next();
    if (first.done || !first.value.complete)
      throw new ProtocolError("the stream ended before session_init");
    const init = parseEvent(first.value.text);
    if (init.type !== "session_init" || init.seq !== 1)
      throw new ProtocolError("the first line is not session_init with seq 1");
    const { encryption, sessionToken } = init.payload;

    let sessionCrypto: Crypto | undefined;
    let token = sessionToken;
    if (client && encryption.enabled) {
      sessionCrypto = await handshake(ctx, init.sessionId, client, encryption, abort.signal);
      token = sessionCrypto.keys.token;
    } else if (options.encryption === "required") {
      throw new HandshakeError("the server did not encrypt a session that requires it");
    }
    if (!token) throw new ProtocolError("session_init carries no session token");
    const handle = new SessionHandle(
      ctx,
      init.sessionId,
      init.payload.expiresAt,
      token,
      sessionCrypto,
      1,
      lines,
      options.maxResumeAttempts ?? 5,
    );
    handle.stream.signal.addEventListener("abort", () => abort.abort(), { once: true });
    follow(options.signal, handle.stream);
    return handle;
  }

  /**
   * Reattaches to a running plaintext session with its id and the sessionToken from its
   * session_init (another tab, a restarted process). An encrypted session cannot be: its keys
   * never leave the handle that made the handshake, and the token alone opens nothing.
   */
  static async connect(
    ctx: SessionContext,
    id: string,
    token: string,
    options: ConnectOptions = {},
  ): Promise<SessionHandle> {
    const fromSeq = options.fromSeq ?? 1;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1)
      throw new RangeError("fromSeq must be a positive integer");
    const abort = new AbortController();
    follow(options.signal, abort);
    const path = `${ctx.baseUrl}/sessions/${encodeURIComponent(id)}`;
    const auth = { authorization: `Bearer ${token}` };
    const refused = async (response: Response) => {
      const error = await httpError(response);
      return new HttpError(
        `cannot connect to session ${id}: ${error.message}`,
        error.status,
        error.code,
        error.body,
      );
    };
    const state = await send(ctx.fetch, path, { headers: auth, signal: abort.signal });
    if (!state.ok) throw await refused(state);
    const { expiresAt } = (await state.json()) as { expiresAt?: unknown };
    if (typeof expiresAt !== "string")
      throw new ProtocolError("the session's state carries no expiresAt");
    const response = await send(ctx.fetch, `${path}/stream?fromSeq=${fromSeq}`, {
      headers: auth,
      signal: abort.signal,
    });
    if (!response.ok) throw await refused(response);
    if (!response.body) throw new ProtocolError("the session stream has no body");
    const lines = ndjsonLines(response.body);
    const first = await lines.next();
    if (first.done || !first.value.complete)
      throw new ProtocolError(`the stream ended before seq ${fromSeq}`);
    const encrypted = () => {
      abort.abort();
      return new AuditorError(
        `session ${id} is encrypted: only the handle that made its handshake holds its keys, so it cannot be reattached`,
      );
    };
    const raw = safeJson(first.value.text);
    if (parseWire(EncLineSchema, raw).success) throw encrypted();
    const event = parseEvent(first.value.text);
    if (event.sessionId !== id || event.seq !== fromSeq)
      throw new ProtocolError(`the stream does not start at seq ${fromSeq} of session ${id}`);
    if (event.type === "session_init" && event.payload.encryption.enabled) throw encrypted();
    // session_init is read, not yielded, as after start(); any other first event is replayed.
    const rest = event.type === "session_init" ? lines : prepend(first.value, lines);
    const handle = new SessionHandle(
      ctx,
      id,
      expiresAt,
      token,
      undefined,
      event.type === "session_init" ? 1 : fromSeq - 1,
      rest,
      options.maxResumeAttempts ?? 5,
    );
    handle.stream.signal.addEventListener("abort", () => abort.abort(), { once: true });
    follow(options.signal, handle.stream);
    return handle;
  }

  /** The session's events after session_init, in order, until `final` or `error`. */
  async *[Symbol.asyncIterator](): AsyncIterator<SessionEvent> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        yield event;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.terminal) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** The script's return value; throws LimitError, SessionFailedError, or what broke the stream. */
  async result(): Promise<unknown> {
    await this.settled;
    if (this.failure) throw this.failure;
    const terminal = this.terminal!;
    if (terminal.type === "error")
      throw new SessionFailedError(terminal.payload.code, terminal.payload.message);
    if (terminal.payload.ok) return terminal.payload.result;
    const { code, message } = terminal.payload.error ?? {
      code: "unknown",
      message: "the session failed",
    };
    throw LIMIT_CODES.has(code)
      ? new LimitError(code, message)
      : new SessionFailedError(code, message);
  }

  /** The `final` event itself (with stats), once the session has ended. */
  async final(): Promise<Final | undefined> {
    await this.settled;
    return this.terminal?.type === "final" ? this.terminal : undefined;
  }

  cancel(options: CallOptions = {}): Promise<CancelReply> {
    return this.control(
      "cancel",
      `/sessions/${this.id}/cancel`,
      {},
      CancelReplySchema,
      options.signal,
    );
  }

  /** Answers the script's pending `callTool("input", …)` named by callId. */
  input(callId: string, value: unknown, options: CallOptions = {}): Promise<SessionInputReply> {
    return this.control(
      "input",
      `/sessions/${this.id}/input`,
      { callId, value },
      SessionInputReplySchema,
      options.signal,
    );
  }

  /** Values of this session's refs (ids or tokens). */
  async resolveRefs(
    refs: (string | { $ref: { id: string } })[],
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    const ids = refs.map((r) => (typeof r === "string" ? r : r.$ref.id));
    const body = this.crypto ? { refs: ids } : { sessionId: this.id, refs: ids };
    const reply = await this.control(
      "refs_resolve",
      "/refs/resolve",
      body,
      ResolveRefsReplySchema,
      options.signal,
    );
    return reply.values;
  }

  /** `{ sessionId, state, stats, lastSeq, expiresAt }` from the server. */
  async state(options: CallOptions = {}): Promise<SessionStatus> {
    const headers = { authorization: `Bearer ${this.token}` };
    const response = await send(this.ctx.fetch, `${this.ctx.baseUrl}/sessions/${this.id}`, {
      headers,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok) throw await httpError(response);
    return replyOf("state", SessionStatusSchema, await response.json().catch(() => undefined));
  }

  /** Stops reading (the server cancels the session if nobody resumes within its grace window). */
  close(): void {
    this.stream.abort();
  }

  private async control<S extends z.ZodMiniType>(
    type: "cancel" | "input" | "refs_resolve",
    path: string,
    body: unknown,
    replySchema: S,
    signal: AbortSignal | undefined,
  ): Promise<z.infer<S>> {
    const url = `${this.ctx.baseUrl}${path}`;
    if (!this.crypto) {
      const headers = { "content-type": "application/json", authorization: `Bearer ${this.token}` };
      const response = await send(this.ctx.fetch, url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
      if (!response.ok) throw await httpError(response);
      return replyOf(type, replySchema, await response.json().catch(() => undefined));
    }
    // Envelopes must arrive in seq order: one control message at a time. An abort before this
    // one's turn takes no seq; after it, the exchange runs to its end (the server may have
    // counted the seq) and only the caller stops waiting.
    const run = this.controlChain.then(async () => {
      signal?.throwIfAborted();
      return replyOf(type, replySchema, await this.sealedControl(url, type, body));
    });
    this.controlChain = run.catch(() => undefined);
    return untilAborted(run, signal);
  }

  private async sealedControl(url: string, type: string, body: unknown): Promise<unknown> {
    const { keys, kid } = this.crypto!;
    const seq = ++this.controlSeq;
    const payload = await sealEnvelope(
      keys.c2s,
      this.id,
      seq,
      kid,
      JSON.stringify({ seq, type, body }),
    );
    const response = await send(this.ctx.fetch, url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        protocolVersion: PROTOCOL_VERSION,
        sessionId: this.id,
        seq,
        type: "enc",
        payload,
      }),
    });
    const raw = (await response.json().catch(() => undefined)) as unknown;
    const line = parseWire(EncLineSchema, raw);
    if (!line.success) {
      const code = (raw as { error?: string } | undefined)?.error;
      throw new HttpError(
        `HTTP ${response.status}${code ? ` ${code}` : ""}`,
        response.status,
        code,
        raw,
      );
    }
    let reply: Record<string, unknown>;
    try {
      reply = await openEnvelope(keys.reply, this.id, seq, kid, line.data.payload);
    } catch {
      throw new ProtocolError("the server's sealed reply does not open");
    }
    const status = Number(reply.status);
    if (status !== response.status)
      throw new ProtocolError("the sealed reply's status differs from the HTTP status");
    if (status < 200 || status >= 300) {
      const code = (reply.body as { error?: string } | undefined)?.error;
      throw new HttpError(`HTTP ${status}${code ? ` ${code}` : ""}`, status, code, reply.body);
    }
    return reply.body;
  }

  /** Reads lines until the terminal event, resuming after drops; records a failure instead of throwing. */
  private async pump(lines: AsyncGenerator<NdjsonLine>): Promise<void> {
    let attempts = 0;
    let current: AsyncGenerator<NdjsonLine> | undefined = lines;
    try {
      while (!this.terminal) {
        if (current) {
          try {
            for await (const line of current) {
              if (!line.complete) break; // cut mid-line: resume from the last whole event
              await this.accept(line.text);
              attempts = 0;
              if (this.terminal) return;
            }
          } catch (err) {
            if (err instanceof ProtocolError || this.stream.signal.aborted) throw err;
            // a network error mid-stream: resume below
          }
        }
        if (this.stream.signal.aborted) throw new NetworkError("the session stream was closed");
        if (++attempts > this.maxResumeAttempts)
          throw new NetworkError(
            `the stream dropped and ${this.maxResumeAttempts} resume attempts failed`,
          );
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** (attempts - 1))));
        current = await this.reopen();
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new NetworkError(String(err));
    } finally {
      this.wake?.();
    }
  }

  /** GET /sessions/:id/stream?fromSeq=<next>; undefined when the attempt failed but may be retried. */
  private async reopen(): Promise<AsyncGenerator<NdjsonLine> | undefined> {
    let response: Response;
    try {
      response = await send(
        this.ctx.fetch,
        `${this.ctx.baseUrl}/sessions/${this.id}/stream?fromSeq=${this.lastSeq + 1}`,
        {
          headers: { authorization: `Bearer ${this.token}` },
          signal: this.stream.signal,
        },
      );
    } catch {
      return undefined;
    }
    if (
      response.status === 410 ||
      response.status === 404 ||
      response.status === 401 ||
      response.status === 403
    ) {
      throw await httpError(response, `cannot resume session ${this.id}: HTTP ${response.status}`);
    }
    if (!response.ok || !response.body) return undefined;
    return ndjsonLines(response.body);
  }

  private async accept(text: string): Promise<void> {
    const expected = this.lastSeq + 1;
    let event: SessionEvent;
    if (this.crypto) {
      const line = parseWire(EncLineSchema, safeJson(text));
      if (!line.success || line.data.sessionId !== this.id)
        throw new ProtocolError(`expected an encrypted line with seq ${expected}`);
      try {
        if (line.data.seq !== expected) throw new DecryptError();
        const inner = await openEnvelope(
          this.crypto.keys.s2c,
          this.id,
          expected,
          this.crypto.kid,
          line.data.payload,
        );
        event = parseEvent(JSON.stringify(inner));
      } catch (err) {
        if (err instanceof DecryptError)
          throw new ProtocolError(
            `the line for seq ${expected} does not open (tampered, replayed, reordered, or a seq gap)`,
          );
        throw err;
      }
    } else {
      event = parseEvent(text);
      if (event.sessionId !== this.id) throw new ProtocolError("an event for another session");
      if (event.seq !== expected)
        throw new ProtocolError(`seq gap: expected ${expected}, got ${event.seq}`);
    }
    this.lastSeq = expected;
    if (event.type === "final" || event.type === "error") this.terminal = event;
    this.queue.push(event);
    this.wake?.();
    this.wake = undefined;
  }
}

async function handshake(
  ctx: SessionContext,
  sessionId: string,
  client: { pair: CryptoKeyPair; publicKey: Uint8Array },
  encryption: { kid?: string; serverPublicKey?: string; signature?: string },
  signal: AbortSignal,
): Promise<Crypto> {
  if (!ctx.identity)
    throw new HandshakeError(
      "encrypted sessions need pinnedKeys (the server identity key to trust)",
    );
  const identity = await ctx.identity(signal);
  if (!encryption.kid || !encryption.serverPublicKey || !encryption.signature)
    throw new HandshakeError("session_init lacks the handshake fields");
  if (encryption.kid !== identity.kid)
    throw new HandshakeError(
      `the handshake names kid ${encryption.kid}, not the pinned ${identity.kid}`,
    );
  let serverPublicKey: Uint8Array;
  let signature: Uint8Array;
  try {
    serverPublicKey = fromBase64Url(encryption.serverPublicKey);
    signature = fromBase64Url(encryption.signature);
  } catch {
    throw new HandshakeError("the handshake fields are not base64url");
  }
  const transcript = sessionTranscript(sessionId, client.publicKey, serverPublicKey);
  if (!(await verifyP256(signature, transcript, identity.key)))
    throw new HandshakeError("the handshake is not signed by the pinned identity key");
  let shared: Uint8Array;
  try {
    shared = await deriveSharedX(client.pair.privateKey, serverPublicKey);
  } catch {
    throw new HandshakeError("the server's ephemeral key is not a valid P-256 point");
  }
  return { keys: deriveSessionKeys(shared, transcript), kid: identity.kid };
}

async function* prepend(
  line: NdjsonLine,
  rest: AsyncGenerator<NdjsonLine>,
): AsyncGenerator<NdjsonLine> {
  yield line;
  yield* rest;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseEvent(text: string): SessionEvent {
  const parsed = parseWire(SessionEventSchema, safeJson(text));
  if (!parsed.success)
    throw new ProtocolError(`a line that is not a session event: ${text.slice(0, 80)}`);
  return parsed.data;
}

/** A control or status reply, held to its wire schema: a server that answers otherwise is broken. */
function replyOf<S extends z.ZodMiniType>(what: string, schema: S, raw: unknown): z.infer<S> {
  const parsed = parseWire(schema, raw);
  if (!parsed.success)
    throw new ProtocolError(`the server's ${what} reply does not match the protocol`);
  return parsed.data as z.infer<S>;
}
