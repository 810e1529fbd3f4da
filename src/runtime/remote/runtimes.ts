// The middleware's side of extracted runtimes: runtimes dial in (GET /runtime/attach, one
// WebSocket per session slot), prove a pinned key, and wait; a session is routed to a free slot
// by its id and runs there with the contract of runAgentScript, while its tools run here (the
// runtime holds no secrets). A runtime that dies mid-run ends that session cleanly
// (runtime_lost); none connected is runtime_unavailable. Nothing hangs.
import type { P256KeyPair } from "../../crypto/index.ts";
import type { Logger } from "../../log.ts";
import type { RunResult, HostMessage } from "../protocol.ts";
import type { RunOptions } from "../run.ts";
import { failedRun, RunHost } from "../run-host.ts";
import { answerRuntimeHello, type SecureChannel, type Wire } from "./secure-channel.ts";

export interface RuntimeLimits {
  /** Idle slots kept at once; a runtime attaching more is refused. */
  maxIdleSlots: number;
  /** A connection that has not finished the handshake by then is closed. */
  handshakeTimeoutMs: number;
}

export const DEFAULT_RUNTIME_LIMITS: RuntimeLimits = {
  maxIdleSlots: 1_024,
  handshakeTimeoutMs: 3_000,
};

export class RemoteRuntimes {
  private readonly idle: SecureChannel[] = [];
  private readonly running = new Set<SecureChannel>();
  constructor(
    private readonly identity: P256KeyPair,
    private readonly pins: readonly string[],
    private readonly log: Logger,
    private readonly limits: RuntimeLimits = DEFAULT_RUNTIME_LIMITS,
  ) {}

  get idleSlots(): number {
    return this.idle.length;
  }

  /** Handlers for one attach WebSocket (hono's upgradeWebSocket events). */
  connection() {
    let step: "hello" | "auth" | "ready" = "hello";
    let pending: Awaited<ReturnType<typeof answerRuntimeHello>> | undefined;
    let channel: SecureChannel | undefined;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const refuse = (wire: Wire, reason: string) => {
      this.log.warn("refused a runtime", { reason });
      wire.close(1008, reason.slice(0, 120));
    };
    return {
      onOpen: (wire: Wire) => {
        deadline = setTimeout(
          () =>
            step !== "ready" &&
            refuse(wire, `no handshake within ${this.limits.handshakeTimeoutMs} ms`),
          this.limits.handshakeTimeoutMs,
        );
      },
      onMessage: async (event: MessageEvent, wire: Wire) => {
        const text = typeof event.data === "string" ? event.data : "";
        try {
          if (step === "hello") {
            if (this.idle.length >= this.limits.maxIdleSlots)
              throw new Error(`already ${this.limits.maxIdleSlots} idle runtime slots`);
            step = "auth";
            pending = await answerRuntimeHello(text, this.identity, this.pins);
            wire.send(pending.welcome);
          } else if (step === "auth") {
            step = "ready";
            channel = await pending!.finish(text, wire);
            clearTimeout(deadline);
            channel.onClose(() => this.lost(channel!));
            this.idle.push(channel);
            this.log.info("runtime slot attached", {
              runtime: channel.peerKid,
              idle: this.idle.length,
            });
          } else {
            channel!.receive(text);
          }
        } catch (err) {
          refuse(wire, (err as Error).message);
        }
      },
      onClose: () => {
        clearTimeout(deadline);
        if (channel) channel.close("the runtime disconnected");
      },
    };
  }

  /** runAgentScript's contract, on a runtime (one session per slot, then the slot is closed). */
  run(code: string, options: RunOptions = {}): Promise<RunResult> {
    const started = performance.now();
    const channel = this.idle.shift();
    if (!channel)
      return Promise.resolve(
        failedRun("runtime_unavailable", "no runtime is connected to run this session", started),
      );
    const sessionId = options.sessionId ?? `run_${crypto.randomUUID()}`;
    this.running.add(channel);
    const host = new RunHost(
      {
        send: (message: HostMessage) => channel.send(message),
        onMessage: (h) => channel.onMessage(h),
        onClose: (h) => channel.onClose(h),
      },
      { validate: true, onOverdue: () => channel.close("the runtime missed a run's deadline") },
    );
    return host.run(code, { ...options, sessionId }).finally(() => {
      this.running.delete(channel);
      channel.close("session finished");
    });
  }

  /** A slot's channel closed: idle, it just leaves the pool (a running one is failed by run's own handler). */
  private lost(channel: SecureChannel) {
    const at = this.idle.indexOf(channel);
    if (at !== -1) this.idle.splice(at, 1);
  }

  closeAll(): void {
    for (const channel of [...this.idle, ...this.running])
      channel.close("the middleware is shutting down");
  }
}
