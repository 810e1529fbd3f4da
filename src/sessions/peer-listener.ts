// The owner's side of the instance-to-instance channel: other instances of this app dial in
// (GET /peer/attach, a WebSocket on the listener), prove they hold the app's identity key, and
// then send the session requests their clients made for sessions that live here. Each request
// runs through this instance's own session routes, exactly as if the client had come here, and
// its response goes back as it is produced (status, the headers that matter, the body in
// order), so NDJSON streams flow as they arrive and encrypted sessions' envelopes and sealed
// replies pass through unopened. A peer that goes away cancels what it asked for.
import { fromBase64, toBase64 } from "../../sdk/crypto/encoding.ts";
import type { P256KeyPair } from "../crypto/index.ts";
import type { Logger } from "../log.ts";
import type { SecureChannel, Wire } from "../runtime/remote/secure-channel.ts";
import { answerPeerHello } from "./peer-handshake.ts";
import { DialerMessageSchema, FORWARDED_RESPONSE_HEADERS, type PeerRequest } from "./peer-wire.ts";

/** A connection that has not finished the handshake by then is closed. */
const PEER_HANDSHAKE_TIMEOUT_MS = 3_000;
/** Body bytes per sealed frame (a 1 MiB final or a large resolved ref spans several). */
const MAX_CHUNK_BYTES = 256 * 1024;

export type PeerRequestHandler = (request: Request) => Promise<Response>;

export class PeerListener {
  private readonly channels = new Set<SecureChannel>();

  constructor(
    private readonly identity: P256KeyPair,
    private readonly instanceId: string,
    private readonly log: Logger,
    private readonly handshakeTimeoutMs = PEER_HANDSHAKE_TIMEOUT_MS,
  ) {}

  get openChannels(): number {
    return this.channels.size;
  }

  /** Handlers for one attach WebSocket (hono's upgradeWebSocket events). */
  connection(handle: PeerRequestHandler) {
    let step: "hello" | "auth" | "ready" | "closed" = "hello";
    let pending: Awaited<ReturnType<typeof answerPeerHello>> | undefined;
    let channel: SecureChannel | undefined;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    // Handshake steps are async: frames are handled one at a time, in order.
    let queue = Promise.resolve();
    const refuse = (wire: Wire, reason: string) => {
      step = "closed";
      this.log.warn("refused a peer", { reason });
      wire.close(1008, reason.slice(0, 120));
    };
    const onFrame = async (text: string, wire: Wire) => {
      try {
        if (step === "hello") {
          step = "auth";
          pending = await answerPeerHello(text, this.identity, this.instanceId);
          wire.send(pending.welcome);
        } else if (step === "auth") {
          const opened = await pending!.finish(text, wire);
          if (step !== "auth") return; // timed out meanwhile
          channel = opened;
          step = "ready";
          clearTimeout(deadline);
          this.serve(channel, pending!.peerInstanceId, handle);
        } else if (step === "ready") {
          channel!.receive(text);
        }
      } catch (err) {
        refuse(wire, (err as Error).message);
      }
    };
    return {
      onOpen: (wire: Wire) => {
        deadline = setTimeout(
          () =>
            step !== "ready" &&
            step !== "closed" &&
            refuse(wire, `no handshake within ${this.handshakeTimeoutMs} ms`),
          this.handshakeTimeoutMs,
        );
      },
      onMessage: (event: MessageEvent, wire: Wire) => {
        const text = typeof event.data === "string" ? event.data : "";
        queue = queue.then(() => onFrame(text, wire));
        return queue;
      },
      onClose: () => {
        clearTimeout(deadline);
        step = "closed";
        channel?.close("the peer disconnected");
      },
    };
  }

  /** Closes every peer channel (shutdown): what they asked for is cancelled. */
  closeAll(): void {
    for (const channel of [...this.channels]) channel.close("this instance is shutting down");
  }

  private serve(channel: SecureChannel, peer: string, handle: PeerRequestHandler): void {
    const running = new Map<number, { cancel: () => void }>();
    let lastId = 0;
    this.channels.add(channel);
    channel.onClose((reason) => {
      this.channels.delete(channel);
      for (const request of running.values()) request.cancel();
      running.clear();
      this.log.info("peer channel closed", { instanceId: peer, reason });
    });
    channel.onMessage((raw) => {
      const parsed = DialerMessageSchema.safeParse(raw);
      if (!parsed.success) return channel.close("a message outside the peer contract");
      const message = parsed.data;
      if (message.type === "ping") return channel.send({ type: "pong" });
      if (message.type === "cancel") return running.get(message.id)?.cancel();
      // Request ids rise: a repeated or older one is a protocol violation, not a retry.
      if (message.id <= lastId)
        return channel.close(`request id ${message.id} is not above ${lastId}`);
      lastId = message.id;
      running.set(
        message.id,
        this.answer(channel, message, handle, () => running.delete(message.id)),
      );
    });
    channel.send({ type: "ready" });
    this.log.info("peer channel open", { instanceId: peer });
  }

  /** Runs one forwarded request and sends its response back as it is produced. */
  private answer(
    channel: SecureChannel,
    request: PeerRequest,
    handle: PeerRequestHandler,
    finished: () => void,
  ) {
    let cancelled = false;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const { id } = request;
    void (async () => {
      const response = await handle(
        new Request(`http://peer${request.path}`, {
          method: request.method,
          headers: request.headers,
          ...(request.body === null
            ? {}
            : { body: fromBase64(request.body) as Uint8Array<ArrayBuffer> }),
        }),
      );
      if (cancelled) return void (await response.body?.cancel());
      const headers = Object.fromEntries(
        FORWARDED_RESPONSE_HEADERS.flatMap((name) => {
          const value = response.headers.get(name);
          return value === null ? [] : [[name, value]];
        }),
      );
      channel.send({ type: "response", id, status: response.status, headers });
      if (response.body) {
        reader = response.body.getReader();
        for (let next = await reader.read(); !next.done && !cancelled; next = await reader.read()) {
          for (let at = 0; at < next.value.length; at += MAX_CHUNK_BYTES) {
            channel.send({
              type: "body",
              id,
              chunk: toBase64(next.value.subarray(at, at + MAX_CHUNK_BYTES)),
            });
          }
        }
      }
      if (!cancelled) channel.send({ type: "end", id });
    })()
      .catch((err) => {
        this.log.warn("a forwarded session request failed", { reason: (err as Error).message });
        if (!cancelled)
          channel.send({ type: "failed", id, message: "the owner could not finish the response" });
      })
      .finally(finished);
    return {
      cancel: () => {
        cancelled = true;
        void reader?.cancel().catch(() => {});
      },
    };
  }
}
