// AbortSignal on every SDK call that does I/O, and sessions.connect(id, token): against the
// real server on loopback, with a fake LLM that can stall so a call is aborted mid-flight.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  AuditorError,
  createClient,
  HttpError,
  type SessionEvent,
  type SessionHandle,
} from "../../sdk/client/index.ts";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { sid } from "../helpers/session-id.ts";

let llm: FakeLlm;
let server: AuditorProcess;
let kid: string;

beforeAll(async () => {
  llm = startFakeLlm();
  server = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      OPENROUTER_API_KEY: "sk-or-abort",
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
    },
  });
  kid = (await (await fetch(`${server.url}/attestation`)).json()).statement.kid;
});
afterAll(async () => {
  await server?.stop();
  llm?.close();
});

const client = (pinned = false) =>
  createClient({ baseUrl: server.url, ...(pinned ? { pinnedKeys: [kid] } : {}) });
const stopped = () => {
  const reason = new Error("stopped by the caller");
  return { reason, signal: AbortSignal.abort(reason) };
};
const until = async (done: () => boolean) => {
  while (!done()) await Bun.sleep(5);
};
/** The next tool_call for `toolName`, read from the session's events. */
async function nextCall(session: SessionHandle, toolName: string): Promise<string> {
  for await (const event of session as AsyncIterable<SessionEvent>) {
    if (event.type === "tool_call" && event.payload.toolName === toolName)
      return event.payload.callId;
  }
  throw new Error(`no ${toolName} call`);
}

describe("an aborted signal rejects each call with its reason", () => {
  test("functions, attestation, report, egress log, source, sessions", async () => {
    const c = client();
    const pinned = client(true);
    const waiting = await c.sessions.start("await callTool('input', {}); return 1;");
    const callId = await nextCall(waiting, "input");
    const calls: [string, (signal: AbortSignal) => Promise<unknown>][] = [
      [
        "invoke",
        (signal) =>
          c.invoke("generate-prompt", { session_id: sid("a"), transcript: "x" }, { signal }),
      ],
      [
        "sealed invoke",
        (signal) =>
          pinned.invoke(
            "generate-prompt",
            { session_id: sid("a"), transcript: "x" },
            { sealed: true, signal },
          ),
      ],
      [
        "generatePrompt",
        (signal) => c.generatePrompt({ sessionId: sid("a"), transcript: "x" }, { signal }),
      ],
      ["fixShader", (signal) => c.fixShader({ shader: "void main() {}" }, { signal })],
      ["dj", (signal) => c.dj({ sessionId: sid("a") }, { signal })],
      [
        "youtubeMetadata",
        (signal) => c.youtubeMetadata({ sessionId: sid("a"), prompts: ["a"] }, { signal }),
      ],
      ["attestation", (signal) => c.attestation({ signal })],
      ["report", (signal) => c.report("etherea", { signal })],
      ["egressLog", (signal) => c.egressLog({ signal })],
      ["followEgressLog", (signal) => c.followEgressLog({ instanceId: "x", signal }).next()],
      ["source", (signal) => c.source({ signal })],
      ["pinned source", (signal) => pinned.source({ everyFile: true, signal })],
      ["sessions.start", (signal) => c.sessions.start("return 1", { signal })],
      [
        "encrypted sessions.start",
        (signal) => pinned.sessions.start("return 1", { encryption: "required", signal }),
      ],
      [
        "sessions.connect",
        (signal) => c.sessions.connect(waiting.id, waiting.sessionToken!, { signal }),
      ],
      ["refs.resolve", (signal) => c.refs.resolve(waiting, ["ref_x"], { signal })],
      ["handle.state", (signal) => waiting.state({ signal })],
      ["handle.input", (signal) => waiting.input(callId, 1, { signal })],
      ["handle.resolveRefs", (signal) => waiting.resolveRefs(["ref_x"], { signal })],
      ["handle.cancel", (signal) => waiting.cancel({ signal })],
    ];
    for (const [name, call] of calls) {
      const { reason, signal } = stopped();
      expect({ name, error: await call(signal).catch((e) => e) }).toEqual({ name, error: reason });
    }
    // None of the aborted controls reached the session: it still waits for its input.
    expect((await waiting.state()).state).toBe("waiting_for_tool");
    expect(await waiting.input(callId, 2)).toMatchObject({ applied: true });
    expect(await waiting.result()).toBe(1);
  });
});

describe("aborting mid-flight", () => {
  test("a function call waiting on its upstream rejects with the reason", async () => {
    llm.reset();
    llm.script("openrouter", { kind: "stall", ms: 2_000 });
    const controller = new AbortController();
    const call = client()
      .generatePrompt(
        { sessionId: sid("stall"), transcript: "slow" },
        { signal: controller.signal },
      )
      .catch((e) => e);
    await until(() => llm.requests.length > 0);
    const reason = new Error("the user left");
    controller.abort(reason);
    expect(await call).toBe(reason);
    llm.reset();
  });

  test("a started session's signal closes its stream, as close() does", async () => {
    const script = "await callTool('input', {}); return 1;";
    const closed = await client().sessions.start(script);
    await nextCall(closed, "input");
    closed.close();
    const byClose = (await closed.result().catch((e) => e)) as Error;
    const controller = new AbortController();
    const aborted = await client().sessions.start(script, { signal: controller.signal });
    await nextCall(aborted, "input");
    controller.abort();
    const bySignal = (await aborted.result().catch((e) => e)) as Error;
    expect(bySignal.name).toBe("AbortError");
    expect(bySignal.name).toBe(byClose.name);
  });

  test("encrypted: an aborted control message leaves the seqs in step", async () => {
    let onInput = () => {};
    const watched = createClient({
      baseUrl: server.url,
      pinnedKeys: [kid],
      fetch: (input, init) => {
        if (input.endsWith("/input")) onInput();
        return fetch(input, init);
      },
    });
    const session = await watched.sessions.start(
      "const a = await callTool('input', {}); const b = await callTool('input', {}); return [a, b];",
      { encryption: "required" },
    );
    const first = await nextCall(session, "input");
    // Aborted while queued behind another message: it takes no seq and is never sent.
    let posts = 0;
    onInput = () => posts++;
    const queuedAbort = new AbortController();
    const sent = session.input(first, "a");
    const queued = session.input(first, "never", { signal: queuedAbort.signal }).catch((e) => e);
    queuedAbort.abort("changed my mind");
    expect(await queued).toBe("changed my mind");
    expect(await sent).toMatchObject({ applied: true });
    expect(posts).toBe(1);
    // Aborted once on the wire: the caller stops waiting, the exchange still completes.
    const second = await nextCall(session, "input");
    const inFlight = new AbortController();
    onInput = () => inFlight.abort("gone");
    expect(await session.input(second, "b", { signal: inFlight.signal }).catch((e) => e)).toBe(
      "gone",
    );
    onInput = () => {};
    expect(await session.result()).toEqual(["a", "b"]);
    // The next message takes the next seq: the server opens it and answers in a sealed reply.
    expect(await session.cancel()).toMatchObject({ sessionId: session.id, state: "completed" });
  });
});

describe("sessions.connect reattaches by id and token", () => {
  test("another client reads the same events and answers the script's input", async () => {
    const first = await client().sessions.start(
      "const who = await callTool('input', { prompt: 'who?' }); console.log('hi', who); return who;",
    );
    expect(first.sessionToken).toMatch(/^\S+$/);
    const second = await client().sessions.connect(first.id, first.sessionToken!);
    expect({ id: second.id, expiresAt: second.expiresAt, encrypted: second.encrypted }).toEqual({
      id: first.id,
      expiresAt: first.expiresAt,
      encrypted: false,
    });
    const callId = await nextCall(second, "input");
    expect(await second.input(callId, "Ada")).toMatchObject({ applied: true });
    const seen: SessionEvent[] = [];
    for await (const event of second) seen.push(event);
    expect(seen.map((e) => e.type)).toContain("final");
    expect(await second.result()).toBe("Ada");
    expect(await first.result()).toBe("Ada");
  });

  test("from a later seq, and after the session ended (replayed to its final)", async () => {
    const done = await client().sessions.start("await callTool('echo', { n: 1 }); return 7;");
    expect(await done.result()).toBe(7);
    const all: SessionEvent[] = [];
    for await (const event of await client().sessions.connect(done.id, done.sessionToken!))
      all.push(event);
    expect(all[0]!.seq).toBe(2);
    const later: SessionEvent[] = [];
    const fromThree = await client().sessions.connect(done.id, done.sessionToken!, { fromSeq: 3 });
    for await (const event of fromThree) later.push(event);
    expect(later).toEqual(all.slice(1));
    expect(await fromThree.result()).toBe(7);
  });

  test("a wrong token, an unknown id or a seq the server never sent is a clear HttpError", async () => {
    const session = await client().sessions.start("return 1");
    await session.result();
    const wrong = (await client()
      .sessions.connect(session.id, "not-the-token")
      .catch((e) => e)) as HttpError;
    expect(wrong).toBeInstanceOf(HttpError);
    expect(wrong.status).toBe(403);
    expect(wrong.message).toContain(`cannot connect to session ${session.id}`);
    expect(
      (
        (await client()
          .sessions.connect("s_unknown", "x")
          .catch((e) => e)) as HttpError
      ).status,
    ).toBe(404);
    const beyond = (await client()
      .sessions.connect(session.id, session.sessionToken!, { fromSeq: 99 })
      .catch((e) => e)) as HttpError;
    expect(beyond.status).toBe(400);
    expect(beyond.message).toContain("fromSeq");
    expect(
      await client()
        .sessions.connect(session.id, session.sessionToken!, { fromSeq: 0 })
        .catch((e) => e),
    ).toBeInstanceOf(RangeError);
  });

  test("an encrypted session is refused: its token opens nothing, its keys stay with its handle", async () => {
    const encrypted = await client(true).sessions.start("await callTool('input', {}); return 1;", {
      encryption: "required",
    });
    expect(encrypted.sessionToken).toBeUndefined();
    // Even a holder of the derived token (it is a bearer for GET endpoints) gets no events.
    const token = (encrypted as unknown as { token: string }).token;
    for (const fromSeq of [1, 2]) {
      const refused = await client()
        .sessions.connect(encrypted.id, token, { fromSeq })
        .catch((e) => e);
      expect(refused).toBeInstanceOf(AuditorError);
      expect(refused.message).toBe(
        `session ${encrypted.id} is encrypted: only the handle that made its handshake holds its keys, so it cannot be reattached`,
      );
    }
    expect(await encrypted.cancel()).toMatchObject({ state: "cancelled" });
  });
});
