// Session control with a slow tool: cancel mid-tool, TTL expiry, disconnect grace and resume,
// capacity, and many concurrent sessions. Real HTTP on loopback against the real session routes
// and manager, with a test tool registry (the binary's registry has no slow tool).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { z } from "zod";
import { sessionRoutes } from "../../src/http/routes/sessions.ts";
import { createLogger } from "../../src/log.ts";
import { defineTool, ToolRegistry } from "../../src/runtime/index.ts";
import { demoTools } from "../../src/sessions/demo-tools.ts";
import { DEFAULT_SESSION_SERVER_LIMITS, SessionManager } from "../../src/sessions/manager.ts";
import type { SessionEvent } from "../../sdk/wire/sessions.ts";
import { events, testIdentity, untilType } from "../helpers/sessions.ts";

const tools = new ToolRegistry([
  ...demoTools(),
  defineTool({
    name: "sleep",
    input: z.object({ ms: z.number() }),
    output: z.object({ slept: z.number() }),
    timeoutMs: 60_000,
    handler: async ({ ms }) => (await Bun.sleep(ms), { slept: ms }),
  }),
]);
const manager = new SessionManager(tools, {
  ...DEFAULT_SESSION_SERVER_LIMITS,
  maxConcurrentSessions: 300,
  maxSessionsPerCaller: 300,
  heartbeatMs: 50,
  disconnectGraceMs: 300,
});
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  const app = new Hono().route(
    "/",
    sessionRoutes({ manager, apiKeys: [], log: createLogger("error"), ...testIdentity() }),
  );
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, idleTimeout: 0 });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));

const start = (code: string, limits?: object, signal?: AbortSignal) =>
  fetch(`${base}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ protocolVersion: 1, code, limits }),
    signal,
  });

describe("session control", () => {
  test("cancel mid-tool ends the session with a cancelled final", async () => {
    const iter = events(await start(`await callTool("sleep", { ms: 10000 }); return 1;`));
    const init = (await iter.next()).value as SessionEvent;
    const token = (init.payload as { sessionToken: string }).sessionToken;
    await untilType(iter, "tool_call");
    const res = await fetch(`${base}/sessions/${init.sessionId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await res.json()).toEqual({ sessionId: init.sessionId, state: "cancelled" });
    expect(await untilType(iter, "final")).toMatchObject({
      payload: { ok: false, error: { code: "cancelled" } },
    });
  });

  test("a plaintext cancel takes no body: whatever is sent is ignored, the token is still checked", async () => {
    const iter = events(await start(`await callTool("sleep", { ms: 10000 }); return 1;`));
    const init = (await iter.next()).value as SessionEvent;
    const token = (init.payload as { sessionToken: string }).sessionToken;
    const url = `${base}/sessions/${init.sessionId}/cancel`;
    const garbage = {
      method: "POST",
      body: "not json {",
      headers: { "content-type": "text/plain" },
    };
    const refused = await fetch(url, garbage);
    expect(refused.status).toBe(401);
    expect(manager.get(init.sessionId)!.machine.terminal).toBe(false);
    const res = await fetch(url, {
      ...garbage,
      headers: { ...garbage.headers, authorization: `Bearer ${token}` },
    });
    expect(await res.json()).toEqual({ sessionId: init.sessionId, state: "cancelled" });
    expect(await untilType(iter, "final")).toMatchObject({
      payload: { error: { code: "cancelled" } },
    });
  });

  test("sessionTtlMs ends a session that outlives it", async () => {
    const iter = events(
      await start(`await callTool("sleep", { ms: 5000 }); return 1;`, { sessionTtlMs: 100 }),
    );
    expect(await untilType(iter, "final")).toMatchObject({
      payload: { ok: false, error: { code: "timeout" } },
    });
  });

  test("heartbeats flow while a tool is quiet", async () => {
    const iter = events(await start(`await callTool("sleep", { ms: 300 }); return 1;`));
    const seen: string[] = [];
    for await (const e of iter) seen.push(e.type);
    expect(seen.filter((t) => t === "heartbeat").length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toBe("final");
  });

  test("a client that drops and resumes within the grace window gets the rest; one that does not is cancelled", async () => {
    const first = new AbortController();
    const iter = events(
      await start(`await callTool("sleep", { ms: 200 }); return "done";`, undefined, first.signal),
    );
    const init = (await iter.next()).value as SessionEvent;
    const token = (init.payload as { sessionToken: string }).sessionToken;
    first.abort();
    await Bun.sleep(50);
    const resumed = events(
      await fetch(`${base}/sessions/${init.sessionId}/stream?fromSeq=2`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(await untilType(resumed, "final")).toMatchObject({
      payload: { ok: true, result: "done" },
    });

    const second = new AbortController();
    const gone = events(
      await start(`await callTool("sleep", { ms: 5000 }); return 1;`, undefined, second.signal),
    );
    const init2 = (await gone.next()).value as SessionEvent;
    second.abort();
    await Bun.sleep(600);
    expect(manager.get(init2.sessionId)!.machine.state).toBe("cancelled");
  });

  test("the grace window counts from the last reader leaving, not the first", async () => {
    // Grace is 300 ms here: the first reader leaves at 0, a second resumes and leaves at ~200.
    const first = new AbortController();
    const iter = events(
      await start(`await callTool("sleep", { ms: 5000 }); return 1;`, undefined, first.signal),
    );
    const init = (await iter.next()).value as SessionEvent;
    const token = (init.payload as { sessionToken: string }).sessionToken;
    first.abort();
    await Bun.sleep(100);
    const second = new AbortController();
    const resumed = events(
      await fetch(`${base}/sessions/${init.sessionId}/stream?fromSeq=2`, {
        headers: { authorization: `Bearer ${token}` },
        signal: second.signal,
      }),
    );
    void resumed.next().catch(() => undefined);
    await Bun.sleep(100);
    second.abort();
    // Past the first reader's window (300 ms from 0), within the second's (300 ms from ~200).
    await Bun.sleep(200);
    expect(manager.get(init.sessionId)!.machine.terminal).toBe(false);
    await Bun.sleep(400);
    expect(manager.get(init.sessionId)!.machine.state).toBe("cancelled");
  });

  test("resuming before the buffer window is 410; limits above the server maxima are capped", async () => {
    const small = new SessionManager(tools, {
      ...DEFAULT_SESSION_SERVER_LIMITS,
      bufferEvents: 5,
      disconnectGraceMs: 1000,
    });
    const app = new Hono().route(
      "/",
      sessionRoutes({ manager: small, apiKeys: [], log: createLogger("error"), ...testIdentity() }),
    );
    const res = await app.request("/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        protocolVersion: 1,
        code: `for (let i = 0; i < 20; i++) { console.log(i); } return 1;`,
        limits: { maxToolCalls: 1_000_000 },
      }),
    });
    const lines = (await res.text())
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    const { sessionId, payload } = lines[0];
    const auth = { authorization: `Bearer ${payload.sessionToken}` };
    const gone = await app.request(`/sessions/${sessionId}/stream?fromSeq=2`, { headers: auth });
    expect(gone.status).toBe(410);
    expect((await gone.json()).message).toContain("no longer buffered");
    const tail = await app.request(`/sessions/${sessionId}/stream?fromSeq=${lines.length - 4}`, {
      headers: auth,
    });
    expect(tail.status).toBe(200);
    expect((await tail.text()).trimEnd().split("\n")).toHaveLength(5);
    expect(small.get(sessionId)).toBeDefined();

    // The client asked for a million tool calls; the server maximum (100) still applies.
    const capped = await app.request("/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        protocolVersion: 1,
        code: `for (let i = 0; i < 150; i++) { await callTool("echo", {}); } return 1;`,
        limits: { maxToolCalls: 1_000_000 },
      }),
    });
    expect(
      (await capped.text())
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l))
        .at(-1).payload.error.code,
    ).toBe("max_tool_calls");
  });

  test("over capacity: 503 with Retry-After", async () => {
    const small = new SessionManager(tools, {
      ...DEFAULT_SESSION_SERVER_LIMITS,
      maxConcurrentSessions: 1,
      disconnectGraceMs: 1000,
    });
    const app = new Hono().route(
      "/",
      sessionRoutes({ manager: small, apiKeys: [], log: createLogger("error"), ...testIdentity() }),
    );
    const first = await app.request("/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ protocolVersion: 1, code: `await callTool("sleep", { ms: 300 });` }),
    });
    const second = await app.request("/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ protocolVersion: 1, code: "return 1" }),
    });
    expect(second.status).toBe(503);
    expect(second.headers.get("retry-after")).toBe("5");
    await first.text();
  });

  test("200 concurrent sessions all complete", async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const iter = events(
          await start(
            `const users = await callTool("get_users", { count: 2 }); await callTool("sleep", { ms: 20 }); return await callTool("process", { users });`,
          ),
        );
        return (await untilType(iter, "final")).payload;
      }),
    );
    expect(results.every((p) => (p as { ok: boolean }).ok)).toBe(true);
    expect(manager.activeCount).toBe(0);
  });
});
