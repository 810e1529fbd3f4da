// The guest half of the run contract (protocol.ts): takes runs from a host over a port, runs
// each with a local runner (runAgentScript in a pool worker, the pool itself in an extracted
// runtime), sends its tool calls back by callId and waits for the host's tool_result_submit,
// and reports events and the result. Cancellation carries the host's reason.
import { ToolCallError } from "./broker.ts";
import type { Runner } from "./run.ts";
import {
  RUN_PROTOCOL_VERSION,
  HostMessageSchema,
  type GuestMessage,
  type HostMessage,
  type RunPort,
  type RunResult,
} from "./protocol.ts";

interface GuestRun {
  abort: AbortController;
  calls: Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>;
}

export interface RunGuestOptions {
  /** Parse every host message with zod (a separate process); the pool's own main thread is trusted. */
  validate: boolean;
  /**
   * Runs the script; `message` is the run message (transports may derive hooks from it). null:
   * the run was taken back before it started (a pool worker's revoked run); nothing is sent.
   */
  runner: (
    code: string,
    options: Parameters<Runner>[1],
    message: Extract<HostMessage, { type: "run" }>,
  ) => Promise<RunResult | null>;
  /** The host broke the protocol: the transport closes. */
  onViolation?: (reason: string) => void;
}

export class RunGuest {
  private readonly runs = new Map<string, GuestRun>();

  constructor(
    private readonly port: RunPort<unknown, GuestMessage>,
    private readonly options: RunGuestOptions,
  ) {
    port.onMessage((raw) => this.receive(raw));
    port.onClose((reason) => {
      for (const run of this.runs.values()) run.abort.abort(reason);
    });
  }

  get active(): number {
    return this.runs.size;
  }

  private receive(raw: unknown): void {
    let message: HostMessage;
    if (this.options.validate) {
      const parsed = HostMessageSchema.safeParse(raw);
      if (!parsed.success)
        return this.options.onViolation?.("the host sent a message outside the protocol");
      message = parsed.data;
    } else {
      message = raw as HostMessage;
    }
    const { sessionId } = message;
    switch (message.type) {
      case "run":
        return this.start(message);
      case "tool_result_submit": {
        const calls = this.runs.get(sessionId)?.calls;
        const call = calls?.get(message.callId);
        if (!call) return; // the run already ended, or a repeat: the first answer stands
        calls!.delete(message.callId);
        if (message.ok) call.resolve(message.result);
        else
          call.reject(
            new ToolCallError(message.error?.message ?? "the tool failed", "tool_failed"),
          );
        return;
      }
      case "cancel":
        this.runs.get(sessionId)?.abort.abort(message.reason ?? "cancelled");
        return;
    }
  }

  private start(message: Extract<HostMessage, { type: "run" }>): void {
    const { sessionId } = message;
    if (this.runs.has(sessionId))
      return this.options.onViolation?.(`run ${sessionId} started twice`);
    const run: GuestRun = { abort: new AbortController(), calls: new Map() };
    this.runs.set(sessionId, run);
    const header = { protocolVersion: RUN_PROTOCOL_VERSION, sessionId } as const;
    const running = this.options.runner(
      message.code,
      {
        sessionId,
        limits: message.limits,
        signal: run.abort.signal,
        // A tool call travels as its own message (below); the host emits its event.
        onEvent: (event) =>
          event.type !== "tool_call" && this.port.send({ type: "event", ...header, event }),
        toolHandler: (toolName, args, callId, { byRef }) =>
          new Promise((resolve, reject) => {
            run.calls.set(callId, { resolve, reject });
            this.port.send({ type: "tool_call", ...header, callId, toolName, args, byRef });
          }),
      },
      message,
    );
    void running.then((result) => {
      this.runs.delete(sessionId);
      if (result) this.port.send({ type: "done", ...header, result });
    });
  }
}
