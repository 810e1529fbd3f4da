// The forwarding side of the instance-to-instance channel: one sealed WebSocket per peer (the
// owner of a session, found in the directory), opened on first use and reused by every request
// for that peer's sessions, many at once (each with its own id). A peer that cannot be reached,
// fails the handshake, does not answer a request in time or stops answering pings is marked
// down for a while (downMs): requests for its sessions are then answered at once (the caller
// says 503 session_owner_unavailable) instead of each waiting on a dead instance.
import { fromBase64, toBase64 } from "../../sdk/crypto/encoding.ts";
import type { P256KeyPair } from "../crypto/index.ts";
import type { Logger } from "../log.ts";
import type { SecureChannel } from "../runtime/remote/secure-channel.ts";
import { ForwardedBody } from "./forwarded-body.ts";
import { startPeerHandshake } from "./peer-handshake.ts";
import { DialerMessageSchema, ListenerMessageSchema, type PeerRequest } from "./peer-wire.ts";

export interface PeerTiming {
  /** Opening the WebSocket and the whole handshake. */
  connectTimeoutMs: number;
  /** From a request to its response's status and headers. */
  answerTimeoutMs: number;
  /** How long a peer that failed stays marked down. */
  downMs: number;
  /** A ping this often; a peer silent for two intervals is lost. */
  pingMs: number;
  /** A channel with no request for this long is closed (reopened on the next one). */
  idleMs: number;
}

/**
 * downMs = 10 s, the directory's expiry: by the time a dead owner is tried again its
 * entries have expired, so its sessions answer 404 rather than a retry of a dead peer.
 * Answers come in milliseconds (the longest, a cancel, waits at most 1 s for the session to
 * end), so 5 s without one means the owner is stuck or gone.
 */
export const DEFAULT_PEER_TIMING: PeerTiming = {
  connectTimeoutMs: 3_000,
  answerTimeoutMs: 5_000,
  downMs: 10_000,
  pingMs: 5_000,
  idleMs: 60_000,
};

export interface PeerAddress {
  instanceId: string;
  /** The peer's AUDITOR_INSTANCE_URL; its channel is at /peer/attach. */
  url: string;
}

export type ForwardRequest = Omit<PeerRequest, "type" | "id" | "body"> & {
  body: Uint8Array | null;
};

export type ForwardReply =
  | { ok: true; status: number; headers: Record<string, string>; body: ReadableStream<Uint8Array> }
  | { ok: false; reason: string; invalid?: boolean };

/** Lets the channel guard admit this WebSocket destination (src/egress/channel-guard.ts). */
export type AdmitPeer = (url: URL) => void;

export class PeerDialer {
  private readonly connections = new Map<string, Promise<PeerConnection>>();
  private readonly downUntil = new Map<string, number>();

  constructor(
    private readonly identity: P256KeyPair,
    private readonly instanceId: string,
    private readonly log: Logger,
    private readonly admit: AdmitPeer,
    private readonly timing: PeerTiming = DEFAULT_PEER_TIMING,
  ) {}

  /** Whether the peer failed within the last downMs. */
  isDown(url: string): boolean {
    const until = this.downUntil.get(url);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.downUntil.delete(url);
    return false;
  }

  async forward(peer: PeerAddress, request: ForwardRequest): Promise<ForwardReply> {
    // What the listener would refuse (and close the channel for) is refused here, alone.
    const message = {
      type: "request" as const,
      id: 1,
      ...request,
      body: request.body === null ? null : toBase64(request.body),
    };
    const checked = DialerMessageSchema.safeParse(message);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      return { ok: false, invalid: true, reason: `${issue.path.join(".")}: ${issue.message}` };
    }
    if (this.isDown(peer.url))
      return { ok: false, reason: "the owner is marked down after a failure" };
    let connection: PeerConnection;
    try {
      connection = await this.connectionTo(peer.url);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    return connection.request(message);
  }

  closeAll(): void {
    for (const pending of this.connections.values())
      void pending.then(
        (c) => c.close("this instance is shutting down", false),
        () => {},
      );
    this.connections.clear();
  }

  private markDown(url: string, reason: string): void {
    if (!this.isDown(url))
      this.log.warn("marked a peer down", { peer: url, reason, forMs: this.timing.downMs });
    this.downUntil.set(url, Date.now() + this.timing.downMs);
  }

  private connectionTo(url: string): Promise<PeerConnection> {
    const existing = this.connections.get(url);
    if (existing) return existing;
    const pending: Promise<PeerConnection> = this.connect(url).then((connection) => {
      connection.onClosed((reason, failed) => {
        if (this.connections.get(url) === pending) this.connections.delete(url);
        if (failed) this.markDown(url, reason);
      });
      return connection;
    });
    this.connections.set(url, pending);
    pending.catch((err) => {
      if (this.connections.get(url) === pending) this.connections.delete(url);
      this.markDown(url, (err as Error).message);
    });
    return pending;
  }

  /** Opens the WebSocket and runs the handshake; resolves once the listener said ready. */
  private async connect(url: string): Promise<PeerConnection> {
    const target = new URL(`${url}/peer/attach`);
    target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
    this.admit(target);
    const handshake = await startPeerHandshake(this.identity, this.instanceId);
    const socket = new WebSocket(target.href);
    const wire = {
      send: (text: string) => socket.send(text),
      close: (code?: number, reason?: string) => socket.close(code, reason),
    };
    return new Promise<PeerConnection>((resolve, reject) => {
      let channel: SecureChannel | undefined;
      let connected = false;
      let queue = Promise.resolve();
      const fail = (reason: string) => {
        if (connected) return;
        clearTimeout(timer);
        reject(new Error(reason));
        socket.close();
      };
      const timer = setTimeout(
        () => fail(`no handshake within ${this.timing.connectTimeoutMs} ms`),
        this.timing.connectTimeoutMs,
      );
      socket.onopen = () => socket.send(handshake.hello);
      socket.onerror = () => fail("the peer cannot be reached");
      socket.onclose = (event) => {
        if (channel) channel.close("the peer closed the channel");
        fail(
          `the peer closed the channel during the handshake${event.reason ? ` (${event.reason})` : ""}`,
        );
      };
      const onFrame = async (text: string) => {
        if (channel) {
          // A failure while handling a message is this channel's end, never the process's.
          try {
            return channel.receive(text);
          } catch (err) {
            this.log.error("a peer message could not be handled", { peer: url, err });
            return channel.close("a message could not be handled");
          }
        }
        try {
          const dialed = await handshake.finish(text, wire);
          channel = dialed.channel;
          // The listener's first sealed frame says it accepted our auth.
          channel.onMessage((message) => {
            if (message.type !== "ready") return channel!.close("the peer did not say ready");
            connected = true;
            clearTimeout(timer);
            this.log.info("peer channel open", { peer: url, instanceId: dialed.peerInstanceId });
            resolve(new PeerConnection(channel!, this.timing));
          });
          channel.onClose((reason) => fail(reason));
          socket.send(dialed.auth);
        } catch (err) {
          this.log.warn("refused a peer", { peer: url, reason: (err as Error).message });
          fail((err as Error).message);
        }
      };
      socket.onmessage = (event) => {
        const text = typeof event.data === "string" ? event.data : "";
        queue = queue.then(() => onFrame(text));
      };
    });
  }
}

interface Pending {
  /** Resolves the reply once the status and headers arrive (or the request fails first). */
  answer?: (reply: ForwardReply) => void;
  body?: ForwardedBody;
  timer?: ReturnType<typeof setTimeout>;
}

/** One open channel to one peer, carrying many requests. */
class PeerConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private lastHeard = Date.now();
  private lastUsed = Date.now();
  private readonly ticker: ReturnType<typeof setInterval>;
  private closedBy: { reason: string; failed: boolean } | undefined;
  private closed: { reason: string; failed: boolean } | undefined;
  private closedListener: (reason: string, failed: boolean) => void = () => {};

  constructor(
    private readonly channel: SecureChannel,
    private readonly timing: PeerTiming,
  ) {
    channel.onMessage((message) => this.receive(message));
    channel.onClose((reason) => {
      clearInterval(this.ticker);
      const closed = this.closedBy ?? { reason, failed: true };
      for (const request of this.pending.values()) {
        clearTimeout(request.timer);
        request.answer?.({ ok: false, reason: closed.reason });
        request.body?.lost("the instance that owns this session stopped answering");
      }
      this.pending.clear();
      this.closed = closed;
      this.closedListener(closed.reason, closed.failed);
    });
    this.ticker = setInterval(() => this.tick(), timing.pingMs);
    this.ticker.unref?.();
  }

  /** Called once the channel closes (at once if it has); `failed` unless idle or shut down. */
  onClosed(listener: (reason: string, failed: boolean) => void): void {
    this.closedListener = listener;
    if (this.closed) listener(this.closed.reason, this.closed.failed);
  }

  request(request: PeerRequest): Promise<ForwardReply> {
    if (this.channel.isClosed) return Promise.resolve({ ok: false, reason: "the channel closed" });
    const id = ++this.nextId;
    this.lastUsed = Date.now();
    return new Promise<ForwardReply>((resolve) => {
      const entry: Pending = {
        answer: resolve,
        timer: setTimeout(
          () => this.close(`no answer within ${this.timing.answerTimeoutMs} ms`, true),
          this.timing.answerTimeoutMs,
        ),
      };
      this.pending.set(id, entry);
      this.channel.send({ ...request, id });
    });
  }

  close(reason: string, failed: boolean): void {
    this.closedBy ??= { reason, failed };
    this.channel.close(reason);
  }

  private receive(raw: Record<string, unknown>): void {
    this.lastHeard = Date.now();
    const parsed = ListenerMessageSchema.safeParse(raw);
    if (!parsed.success) return this.close("a message outside the peer contract", true);
    const message = parsed.data;
    if (message.type === "pong" || message.type === "ready") return;
    const request = this.pending.get(message.id);
    if (!request) return; // cancelled here, still in flight there
    if (message.type === "response") {
      if (!request.answer) return this.close("a second response for one request", true);
      clearTimeout(request.timer);
      const ndjson = (message.headers["content-type"] ?? "").startsWith("application/x-ndjson");
      request.body = new ForwardedBody(ndjson, () => {
        this.pending.delete(message.id);
        this.channel.send({ type: "cancel", id: message.id });
      });
      request.answer({
        ok: true,
        status: message.status,
        headers: message.headers as Record<string, string>,
        body: request.body.stream,
      });
      request.answer = undefined;
      return;
    }
    if (message.type === "failed") {
      this.pending.delete(message.id);
      clearTimeout(request.timer);
      request.answer?.({ ok: false, reason: message.message });
      return request.body?.lost(
        "the instance that owns this session could not finish the response",
      );
    }
    if (!request.body) return this.close(`${message.type} before the response`, true);
    if (message.type === "end") {
      this.pending.delete(message.id);
      return request.body.end();
    }
    let chunk: Uint8Array;
    try {
      chunk = fromBase64(message.chunk);
    } catch {
      return this.close("a body chunk that is not base64", true);
    }
    request.body.push(chunk);
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastHeard > 2 * this.timing.pingMs)
      return this.close(`silent for ${2 * this.timing.pingMs} ms`, true);
    if (this.pending.size === 0 && now - this.lastUsed > this.timing.idleMs)
      return this.close("idle", false);
    this.channel.send({ type: "ping" });
  }
}
