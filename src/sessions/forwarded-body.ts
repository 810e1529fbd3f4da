// The body of a forwarded response as the client receives it: the owner's bytes, unchanged and
// as they arrive. A session stream (NDJSON) is passed on whole lines only, so that if the owner
// is lost mid-stream the client never holds half an event, and it gets a clear ending: a
// plaintext stream ends with an `error` event (code session_owner_unavailable) at the next seq;
// an encrypted one cannot (only the owner holds its keys), so its stream is broken off, which a
// client treats as truncation (DESIGN: a stream without an authenticated final is a failure) and
// its resume then gets the HTTP answer 503 session_owner_unavailable.
import { PROTOCOL_VERSION } from "../../sdk/wire/sessions.ts";

export const OWNER_LOST_CODE = "session_owner_unavailable";
const NEWLINE = 0x0a;

export class ForwardedBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Bytes not yet read by the client; an ending waits behind them (an error would drop them). */
  private readonly queue: Uint8Array[] = [];
  private ending: { error?: Error } | undefined;
  private wake: (() => void) | undefined;
  /** Bytes after the last newline (an NDJSON line not yet complete). */
  private partial = new Uint8Array(0);
  private sessionId: string | undefined;
  private lastSeq: number | undefined;
  private encrypted = false;
  private terminal = false;
  private done = false;

  constructor(
    /** Whether the body is a session stream (application/x-ndjson). */
    private readonly ndjson: boolean,
    /** The client stopped reading: the owner should stop producing. */
    onCancel: () => void,
  ) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          while (this.queue.length === 0 && !this.ending)
            await new Promise<void>((resolve) => (this.wake = resolve));
          const next = this.queue.shift();
          if (next) return controller.enqueue(next);
          if (this.ending!.error) controller.error(this.ending!.error);
          else controller.close();
        },
        cancel: () => {
          this.done = true;
          this.queue.length = 0;
          onCancel();
        },
      },
      { highWaterMark: 0 },
    );
  }

  push(bytes: Uint8Array): void {
    if (this.done) return;
    if (!this.ndjson) return this.enqueue(bytes);
    const joined = new Uint8Array(this.partial.length + bytes.length);
    joined.set(this.partial);
    joined.set(bytes, this.partial.length);
    const cut = joined.lastIndexOf(NEWLINE) + 1;
    this.partial = joined.slice(cut);
    if (cut === 0) return;
    const whole = joined.subarray(0, cut);
    for (const line of new TextDecoder().decode(whole).split("\n")) if (line) this.note(line);
    this.enqueue(whole);
  }

  /** The owner finished the response. */
  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.partial.length > 0) this.enqueue(this.partial);
    this.finish({});
  }

  /** The owner was lost before the response ended. */
  lost(message: string): void {
    if (this.done) return;
    this.done = true;
    if (
      this.ndjson &&
      !this.encrypted &&
      !this.terminal &&
      this.sessionId !== undefined &&
      this.lastSeq !== undefined
    ) {
      const event = {
        protocolVersion: PROTOCOL_VERSION,
        sessionId: this.sessionId,
        seq: this.lastSeq + 1,
        type: "error",
        payload: { message, code: OWNER_LOST_CODE },
      };
      this.enqueue(new TextEncoder().encode(JSON.stringify(event) + "\n"));
      this.finish({});
    } else {
      this.finish(this.terminal ? {} : { error: new Error(message) });
    }
  }

  private enqueue(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.wake?.();
  }

  private finish(ending: { error?: Error }): void {
    this.ending = ending;
    this.wake?.();
  }

  /** What the relay needs to know of a line: its session, seq, and whether it is sealed or the last. */
  private note(line: string): void {
    let event: {
      sessionId?: unknown;
      seq?: unknown;
      type?: unknown;
      payload?: { encryption?: { enabled?: unknown } };
    };
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (!event || typeof event !== "object") return;
    if (typeof event.sessionId === "string") this.sessionId = event.sessionId;
    if (typeof event.seq === "number") this.lastSeq = event.seq;
    if (
      event.type === "enc" ||
      (event.type === "session_init" && event.payload?.encryption?.enabled === true)
    )
      this.encrypted = true;
    if (event.type === "final" || event.type === "error") this.terminal = true;
  }
}
