// The per-session ledger of tool calls. Every answer to a call is applied through it, so an
// answer is idempotent per (sessionId, callId): the same answer again is a no-op, a different
// one is refused. It also serves the built-in `input` tool, whose answer comes from the client
// (POST /sessions/:id/input) instead of the broker, and it is where the session's reference
// sidecar meets the tools: refs in arguments are resolved, and results become refs when the
// script never reads them, the tool marks them unreadable, or the tool redacts fields.
import { z } from "zod";
import { canonicalJson } from "../../sdk/crypto/canonical-json.ts";
import { bytesEqual } from "../../sdk/crypto/encoding.ts";
import { ToolCallError, type ToolHandler, type ToolRegistry } from "../runtime/index.ts";
import { RefError, redactPaths, type RefSidecar } from "../sidecar/index.ts";

/** `await callTool("input", { prompt? })` waits for the client to post a value for its callId. */
export const INPUT_TOOL = "input";
export const InputArgsSchema = z.object({ prompt: z.string().max(1_000).optional() }).strict();

/** An answer; `tainted`: a non-readable value went into the call, so its result stays non-readable. */
export type Outcome =
  | { ok: true; value: unknown; tainted?: boolean }
  | { ok: false; message: string };

/** Why an answer was not applied; `status` is the HTTP status the route answers with. */
export class ToolAnswerError extends Error {
  override name = "ToolAnswerError";
  constructor(
    readonly status: 404 | 409,
    readonly code: "unknown_call" | "not_input" | "conflict" | "session_ended",
    message: string,
  ) {
    super(message);
  }
}

interface CallRecord {
  toolName: string;
  /** The answer, once applied, until the run has taken it. */
  outcome?: Outcome;
  /**
   * The SHA-256 of the applied answer (to tell "same" from "different" when one comes again),
   * or how to compute it: a broker answer whose value the sidecar keeps is hashed only when a
   * second answer needs it, which only a runtime repeating a callId ever sends; megabytes are
   * then never serialized and hashed on the main thread for nothing.
   */
  digest?: Uint8Array | (() => Uint8Array);
  /** Set while the run waits for the answer. */
  resolve?: (outcome: Outcome) => void;
}

const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest() as Uint8Array;

/**
 * SHA-256 of an answer. Client answers are canonicalized (a client may reorder keys); broker
 * answers can be megabytes and a repeat would come from the same serializer, so plain JSON does.
 */
const digestOf = (outcome: Outcome, from: "client" | "broker") =>
  sha256(from === "client" ? canonicalJson(outcome) : JSON.stringify(outcome));

/** The applied answer's digest, computed now if it was deferred. */
function appliedDigest(record: CallRecord): Uint8Array | undefined {
  if (typeof record.digest === "function") record.digest = record.digest();
  return record.digest;
}

export class ToolCallLedger {
  private readonly calls = new Map<string, CallRecord>();
  private closed = false;

  constructor(
    private readonly tools: ToolRegistry,
    private readonly sidecar: RefSidecar,
    private readonly signal: AbortSignal,
    /** The sidecar hit the server-wide memory budget: the session must end (memory_budget). */
    private readonly onBudgetExceeded: (message: string) => void = () => {},
  ) {}

  /**
   * Registers a call as soon as its tool_call event is out, so a client that answers an input
   * call the moment it sees the event never races the run's own bookkeeping.
   */
  open(callId: string, toolName: string): CallRecord {
    let record = this.calls.get(callId);
    if (!record) this.calls.set(callId, (record = { toolName }));
    return record;
  }

  /** The run's tool handler: registry tools go to the broker, `input` waits for the client. */
  readonly handler: ToolHandler = async (name, args, callId, { byRef }) => {
    const record = this.open(callId, name);
    const answer = record.outcome
      ? Promise.resolve(record.outcome)
      : new Promise<Outcome>((resolve) => (record.resolve = resolve));
    if (name === INPUT_TOOL) {
      const parsed = InputArgsSchema.safeParse(args);
      if (!parsed.success)
        this.apply(
          callId,
          {
            ok: false,
            message: `invalid arguments for input: ${parsed.error.issues.map((i) => `${i.path.join(".") || "args"}: ${i.message}`).join("; ")}`,
          },
          "broker",
        );
    } else {
      // A tool that finishes after the run ended (cancelled, timed out) has nobody to answer.
      const answerFromBroker = (outcome: Outcome) =>
        void (this.closed || this.apply(callId, outcome, "broker", true));
      this.callBroker(name, args).then(
        ({ value, tainted }) =>
          answerFromBroker({ ok: true, value, ...(tainted ? { tainted } : {}) }),
        (error) =>
          answerFromBroker({
            ok: false,
            message:
              error instanceof ToolCallError || error instanceof RefError
                ? error.message
                : `${name} failed`,
          }),
      );
    }
    const outcome = await answer;
    delete record.outcome; // the digest is all a repeat needs; the value now lives in the run
    let kept = false;
    try {
      if (!outcome.ok) throw new ToolCallError(outcome.message, "tool_failed");
      const presented = this.present(name, outcome.value, byRef, outcome.tainted === true);
      kept = presented.kept;
      return presented.value;
    } catch (err) {
      if (err instanceof RefError) {
        if (err.code === "memory_budget") this.onBudgetExceeded(err.message);
        throw new ToolCallError(err.message, "tool_failed");
      }
      throw err;
    } finally {
      this.settleDigest(record, kept);
    }
  };

  /**
   * A deferred broker digest, once the result is presented: when the sidecar keeps the whole
   * value, hashing it can wait (the value is held anyway); otherwise nothing else would keep it,
   * so it is hashed now and let go.
   */
  private settleDigest(record: CallRecord, kept: boolean): void {
    if (typeof record.digest === "function" && !kept) record.digest = record.digest();
  }

  private async callBroker(
    name: string,
    args: unknown,
  ): Promise<{ value: unknown; tainted: boolean }> {
    const tool = this.tools.get(name);
    const resolved = this.sidecar.resolveArgs(args, {
      name,
      accepts: tool?.acceptsNonReadable ?? [],
    });
    const value = await this.tools.call(name, resolved.value, this.signal);
    return { value, tainted: resolved.tainted && tool?.declassifies !== true };
  }

  /**
   * The form a result takes in the sandbox: the value, or refs for what the script must not or
   * need not hold (`kept`: the sidecar now holds the whole value). A result made from
   * non-readable values is non-readable as a whole.
   */
  private present(
    name: string,
    value: unknown,
    byRef: boolean,
    tainted: boolean,
  ): { value: unknown; kept: boolean } {
    const tool = this.tools.get(name);
    const source = `tool ${name}`;
    const keep = (shown: unknown, readable: boolean, from = source) => ({
      value: this.sidecar.put(shown, { readable, source: from }),
      kept: shown === value,
    });
    if (tainted) return keep(value, false, `${source} (from non-readable input)`);
    const shown = tool?.redact?.length
      ? redactPaths(value, tool.redact, (secret) =>
          this.sidecar.put(secret, { readable: false, source }),
        )
      : value;
    if (tool?.runtimeReadable === false) return keep(shown, false);
    if (byRef) return keep(shown, true);
    return { value: shown, kept: false };
  }

  /** The client's value for a pending `input` call. Returns whether it was applied now (false: a repeat). */
  provideInput(callId: string, value: unknown): boolean {
    const record = this.calls.get(callId);
    if (!record)
      throw new ToolAnswerError(
        404,
        "unknown_call",
        `callId: this session has made no call "${callId}"`,
      );
    if (record.toolName !== INPUT_TOOL)
      throw new ToolAnswerError(
        409,
        "not_input",
        `callId: ${callId} is a call to the tool "${record.toolName}", which the broker answers; only input calls take client values`,
      );
    return this.apply(callId, { ok: true, value }, "client");
  }

  /**
   * Applies an answer once; a repeat of the same answer is a no-op, a different one throws.
   * `deferDigest`: a broker answer to a registry tool, hashed once the run has taken it (see
   * settleDigest), or when a repeat comes first.
   */
  apply(callId: string, outcome: Outcome, from: "client" | "broker", deferDigest = false): boolean {
    const record = this.calls.get(callId);
    if (!record)
      throw new ToolAnswerError(
        404,
        "unknown_call",
        `callId: this session has made no call "${callId}"`,
      );
    const applied = appliedDigest(record);
    if (applied) {
      if (bytesEqual(applied, digestOf(outcome, from))) return false;
      throw new ToolAnswerError(
        409,
        "conflict",
        `callId: ${callId} already has a different answer; answers cannot be changed`,
      );
    }
    if (this.closed)
      throw new ToolAnswerError(
        409,
        "session_ended",
        "the session has ended; it takes no more answers",
      );
    record.outcome = outcome;
    record.digest = deferDigest ? () => digestOf(outcome, from) : digestOf(outcome, from);
    record.resolve?.(outcome);
    delete record.resolve;
    return true;
  }

  /** The run ended: unanswered calls are dropped (their promises are never read again). */
  close(): void {
    this.closed = true;
    for (const record of this.calls.values()) {
      delete record.resolve;
      delete record.outcome;
      // Only input calls take answers from now on (broker answers are dropped), and theirs were
      // hashed when applied: a deferred digest has nothing left to compare, nor its value to keep.
      if (typeof record.digest === "function") delete record.digest;
    }
  }
}
