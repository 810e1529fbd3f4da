// Sessions over real HTTP: the NDJSON stream, auth, resume and bad requests.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SessionEventSchema, type SessionEvent } from "../../sdk/wire/sessions.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { events, untilType } from "../helpers/sessions.ts";

const API_KEY = "ak_test_4f9d2c";
let server: AuditorProcess;

beforeAll(async () => {
  server = await startAuditor({
    env: { AUDITOR_TEE: "dev", AUDITOR_API_KEYS: `other-key,${API_KEY}` },
  });
});
afterAll(async () => {
  await server?.stop();
});

async function start(
  code: string,
  headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` },
  extra: object = {},
) {
  return fetch(`${server.url}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ protocolVersion: 1, code, ...extra }),
  });
}

async function readEvents(res: Response): Promise<SessionEvent[]> {
  const text = await res.text();
  return text
    .trimEnd()
    .split("\n")
    .map((line) => SessionEventSchema.parse(JSON.parse(line)));
}

const SEED_SCRIPT =
  "const users = await callTool('get_users', {}); return await callTool('process', { users });";

describe("POST /sessions", () => {
  test("the seed's script end to end: session_init first, seq rising by 1, exactly one final last", async () => {
    const res = await start(SEED_SCRIPT);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const events = await readEvents(res);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]!.type).toBe("session_init");
    expect(events.filter((e) => e.type === "final")).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({
      type: "final",
      payload: { ok: true, result: { count: 3, ids: [1, 2, 3] } },
    });
    expect(
      events
        .filter((e) => e.type === "tool_call")
        .map((e) => (e.payload as { toolName: string }).toolName),
    ).toEqual(["get_users", "process"]);
    expect(new Set(events.map((e) => e.sessionId)).size).toBe(1);
  });

  test("a failing script still ends with one final carrying its error code", async () => {
    const events = await readEvents(await start("while (true) {}"));
    expect(events.at(-1)).toMatchObject({
      type: "final",
      payload: { ok: false, error: { code: "validation_error" } },
    });
  });

  test("creation needs one of AUDITOR_API_KEYS: missing → 401, wrong → 403", async () => {
    const missing = await start("return 1", {});
    expect(missing.status).toBe(401);
    expect((await missing.json()).message).toContain("authorization");
    const wrong = await start("return 1", { authorization: `Bearer ${API_KEY}x` });
    expect(wrong.status).toBe(403);
  });

  test("bad bodies: wrong protocolVersion, unknown fields, not JSON, oversized, bad encryption keys", async () => {
    const auth = { authorization: `Bearer ${API_KEY}` };
    const v2 = await start("return 1", auth, { protocolVersion: 2 });
    expect(v2.status).toBe(400);
    expect((await v2.json()).message).toContain("protocolVersion");
    expect((await start("return 1", auth, { bogus: 1 })).status).toBe(400);
    expect((await start("return 1", auth, { limits: { maxToolCalls: -1 } })).status).toBe(400);
    const notJson = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: "{",
    });
    expect(notJson.status).toBe(400);
    const big = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ protocolVersion: 1, code: `return "${"x".repeat(600 * 1024)}"` }),
    });
    expect(big.status).toBe(413);
    const badKey = await start("return 1", auth, {
      encryption: { mode: "required", clientPublicKey: "AAAA" },
    });
    expect(badKey.status).toBe(400);
    expect((await badKey.json()).message).toContain("encryption.clientPublicKey");
    expect((await start("return 1", auth, { encryption: { mode: "required" } })).status).toBe(400);
  });
});

describe("content types", () => {
  const valid = JSON.stringify({ protocolVersion: 1, code: "return 1" });
  const expect415 = async (res: Response) => {
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      error: "unsupported_media_type",
      message: "content-type: send application/json",
    });
  };

  test("POST /sessions with valid JSON under any other content type is 415, like /invoke, and starts nothing", async () => {
    // text/plain and form types are what a page on another site can send without a preflight.
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json-seq",
      "application/jsonx",
      "",
    ]) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${API_KEY}`,
        ...(type ? { "content-type": type } : {}),
      };
      await expect415(
        await fetch(`${server.url}/sessions`, { method: "POST", headers, body: valid }),
      );
    }
    const ok = await start("return 1", {
      authorization: `Bearer ${API_KEY}`,
      "content-type": "Application/JSON; charset=utf-8",
    });
    expect(ok.status).toBe(200);
    expect((await readEvents(ok)).at(-1)!.type).toBe("final");
  });

  test("the session's JSON control bodies are 415 too under another content type", async () => {
    const res = await start("await callTool('input', {}); return 1;");
    const iter = events(res);
    const init = (await iter.next()).value!;
    const auth = {
      authorization: `Bearer ${(init.payload as { sessionToken: string }).sessionToken}`,
    };
    const callId = ((await untilType(iter, "tool_call")).payload as { callId: string }).callId;
    const input = JSON.stringify({ callId, value: "x" });
    await expect415(
      await fetch(`${server.url}/sessions/${init.sessionId}/input`, {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: input,
      }),
    );
    const refs = JSON.stringify({ sessionId: init.sessionId, refs: [] });
    await expect415(
      await fetch(`${server.url}/refs/resolve`, {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: refs,
      }),
    );
    // Cancel has no body: it needs no content type.
    expect(
      (
        await fetch(`${server.url}/sessions/${init.sessionId}/cancel`, {
          method: "POST",
          headers: auth,
        })
      ).status,
    ).toBe(200);
  });
});

describe("control endpoints", () => {
  test("state and resume need the session token; the id alone grants nothing", async () => {
    const events = await readEvents(await start(SEED_SCRIPT));
    const { sessionId } = events[0]!;
    const token = (events[0]!.payload as { sessionToken: string }).sessionToken;
    const auth = { authorization: `Bearer ${token}` };

    expect((await fetch(`${server.url}/sessions/${sessionId}`)).status).toBe(401);
    expect(
      (
        await fetch(`${server.url}/sessions/${sessionId}`, {
          headers: { authorization: `Bearer ${API_KEY}` },
        })
      ).status,
    ).toBe(403);
    expect((await fetch(`${server.url}/sessions/ses_unknown`, { headers: auth })).status).toBe(404);

    const state = await (
      await fetch(`${server.url}/sessions/${sessionId}`, { headers: auth })
    ).json();
    expect(state).toMatchObject({
      sessionId,
      state: "completed",
      lastSeq: events.length,
      stats: { toolCallCount: 2 },
    });

    // Resume: a client that saw events up to seq 3 gets exactly the rest.
    const resumed = await readEvents(
      await fetch(`${server.url}/sessions/${sessionId}/stream?fromSeq=4`, { headers: auth }),
    );
    expect(resumed).toEqual(events.slice(3));
    expect(
      (await fetch(`${server.url}/sessions/${sessionId}/stream?fromSeq=0`, { headers: auth }))
        .status,
    ).toBe(400);
    expect(
      (await fetch(`${server.url}/sessions/${sessionId}/stream?fromSeq=999`, { headers: auth }))
        .status,
    ).toBe(400);

    const cancel = await fetch(`${server.url}/sessions/${sessionId}/cancel`, {
      method: "POST",
      headers: auth,
    });
    expect(await cancel.json()).toEqual({ sessionId, state: "completed" }); // an ended session stays ended
  });
});

describe("POST /sessions/:id/input", () => {
  const INPUT_SCRIPT = `
    const name = await callTool("input", { prompt: "your name?" });
    const more = await callTool("input", {});
    return { greeting: "hello " + name, more };`;

  const postInput = (sessionId: string, token: string | undefined, body: unknown) =>
    fetch(`${server.url}/sessions/${sessionId}/input`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  test("a script awaits client input by callId; the same value again is a no-op, a different one is refused", async () => {
    const iter = events(await start(INPUT_SCRIPT));
    const init = (await iter.next()).value as SessionEvent;
    const token = (init.payload as { sessionToken: string }).sessionToken;
    const ask = await untilType(iter, "tool_call");
    expect(ask.payload).toMatchObject({ toolName: "input", args: { prompt: "your name?" } });
    const { callId } = ask.payload as { callId: string };
    const state = await (
      await fetch(`${server.url}/sessions/${init.sessionId}`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json();
    expect(state.state).toBe("waiting_for_tool");

    expect((await postInput(init.sessionId, undefined, { callId, value: "Ada" })).status).toBe(401);
    expect((await postInput(init.sessionId, API_KEY, { callId, value: "Ada" })).status).toBe(403);

    const first = await postInput(init.sessionId, token, { callId, value: "Ada" });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ sessionId: init.sessionId, callId, applied: true });
    const again = await postInput(init.sessionId, token, { callId, value: "Ada" });
    expect(await again.json()).toEqual({ sessionId: init.sessionId, callId, applied: false });
    const changed = await postInput(init.sessionId, token, { callId, value: "Grace" });
    expect(changed.status).toBe(409);
    expect(await changed.json()).toMatchObject({ error: "conflict" });

    const second = await untilType(iter, "tool_call");
    const secondId = (second.payload as { callId: string }).callId;
    expect(
      (await postInput(init.sessionId, token, { callId: secondId, value: { n: [1, 2] } })).status,
    ).toBe(200);
    expect(await untilType(iter, "final")).toMatchObject({
      payload: { ok: true, result: { greeting: "hello Ada", more: { n: [1, 2] } } },
    });
    // Once ended, a repeat is still a no-op and anything new is refused.
    expect(
      await (await postInput(init.sessionId, token, { callId, value: "Ada" })).json(),
    ).toMatchObject({ applied: false });
    expect((await postInput(init.sessionId, token, { callId, value: "Ken" })).status).toBe(409);
  });

  test("bad input requests name the problem: fields, unknown calls, calls the broker answers, bad args", async () => {
    const iter = events(
      await start(
        `const users = await callTool("get_users", {}); const x = await callTool("input", {}); return x;`,
      ),
    );
    const init = (await iter.next()).value as SessionEvent;
    const token = (init.payload as { sessionToken: string }).sessionToken;
    const brokerCall = (await untilType(iter, "tool_call")).payload as { callId: string };
    const inputCall = (await untilType(iter, "tool_call")).payload as { callId: string };

    const missing = await postInput(init.sessionId, token, { callId: inputCall.callId });
    expect(missing.status).toBe(400);
    expect((await missing.json()).message).toContain("value");
    expect(
      (await postInput(init.sessionId, token, { callId: inputCall.callId, value: 1, extra: true }))
        .status,
    ).toBe(400);
    expect((await postInput(init.sessionId, token, "{")).status).toBe(400);
    const big = await postInput(init.sessionId, token, {
      callId: inputCall.callId,
      value: "x".repeat(600 * 1024),
    });
    expect(big.status).toBe(413);
    const unknown = await postInput(init.sessionId, token, { callId: "call_99", value: 1 });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "unknown_call" });
    const broker = await postInput(init.sessionId, token, { callId: brokerCall.callId, value: [] });
    expect(broker.status).toBe(409);
    expect(await broker.json()).toMatchObject({ error: "not_input" });

    expect(
      (await postInput(init.sessionId, token, { callId: inputCall.callId, value: null })).status,
    ).toBe(200);
    expect(await untilType(iter, "final")).toMatchObject({ payload: { ok: true, result: null } });

    const badArgs = await readEvents(await start(`return await callTool("input", { prompt: 5 });`));
    expect(badArgs.at(-1)).toMatchObject({
      type: "final",
      payload: { ok: false, error: { code: "script_error" } },
    });
    expect(JSON.stringify(badArgs.at(-1))).toContain("prompt");
  });
});
