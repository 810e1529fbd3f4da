// References across a whole session over real HTTP: auto-ref keeps a 10 MB result out of the
// sandbox, redaction and runtimeReadable keep secrets out of it, POST /refs/resolve hands
// values to the session's own client only, and nothing outlives the session.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { z } from "zod";
import { sessionRoutes } from "../../src/http/routes/sessions.ts";
import { createLogger } from "../../src/log.ts";
import { defineTool, ToolRegistry } from "../../src/runtime/index.ts";
import { demoTools } from "../../src/sessions/demo-tools.ts";
import { DEFAULT_SESSION_SERVER_LIMITS, SessionManager } from "../../src/sessions/manager.ts";
import { testIdentity } from "../helpers/sessions.ts";
import { SessionEventSchema, type SessionEvent } from "../../sdk/wire/sessions.ts";

const PASSWORD = "hunter2-c0rrect-h0rse";
const API_KEY = "sk-live-vault-5d1e";
let lastBlob: WeakRef<object> | undefined;

const tools = new ToolRegistry([
  ...demoTools(),
  defineTool({
    name: "login",
    input: z.object({}),
    output: z.object({ user: z.string(), password: z.string() }),
    redact: ["password"],
    handler: async () => ({ user: "ada", password: PASSWORD }),
  }),
  // Takes the password where it declares so, and its verdict is meant to be read: it declassifies.
  defineTool({
    name: "use_login",
    input: z.object({ user: z.string(), password: z.string() }),
    output: z.object({ ok: z.boolean() }),
    acceptsNonReadable: ["password"],
    declassifies: true,
    handler: async ({ password }) => ({ ok: password === PASSWORD }),
  }),
  // An offline composer that accepts a secret but does not declassify: its result stays unreadable.
  defineTool({
    name: "compose",
    input: z.object({ greeting: z.string(), secret: z.string() }),
    output: z.string(),
    acceptsNonReadable: ["secret"],
    handler: async ({ greeting, secret }) => `${greeting} ${secret}`,
  }),
  defineTool({
    name: "vault",
    input: z.object({}),
    output: z.object({ apiKey: z.string() }),
    runtimeReadable: false,
    handler: async () => ({ apiKey: API_KEY }),
  }),
  defineTool({
    name: "count_keys",
    input: z.object({ v: z.record(z.string(), z.unknown()) }),
    output: z.number(),
    acceptsNonReadable: ["v"],
    declassifies: true,
    handler: async ({ v }) => Object.keys(v).length,
  }),
  defineTool({
    name: "blob",
    input: z.object({}),
    output: z.unknown(),
    handler: async () => {
      const blob = { data: "b".repeat(1_000_000) };
      lastBlob = new WeakRef(blob);
      return blob;
    },
  }),
]);
const manager = new SessionManager(tools, {
  ...DEFAULT_SESSION_SERVER_LIMITS,
  retainEndedMs: 300,
  disconnectGraceMs: 1_000,
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

async function run(code: string, extra: object = {}) {
  const res = await fetch(`${base}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ protocolVersion: 1, code, ...extra }),
  });
  const text = await res.text();
  const events = text
    .trimEnd()
    .split("\n")
    .map((line) => SessionEventSchema.parse(JSON.parse(line)));
  const init = events[0]!;
  const final = events.at(-1)! as Extract<SessionEvent, { type: "final" }>;
  return {
    text,
    events,
    sessionId: init.sessionId,
    token: (init.payload as { sessionToken: string }).sessionToken,
    final: final.payload,
  };
}

const resolve = (sessionId: string, token: string | undefined, refs: string[]) =>
  fetch(`${base}/refs/resolve`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ sessionId, refs }),
  });

const refId = (value: unknown) => (value as { $ref: { id: string } }).$ref.id;

describe("auto-ref over a session", () => {
  test("the seed's script passes ~10 MB of users through without it entering the sandbox", async () => {
    const { final, sessionId, token, events } = await run(
      `const users = await callTool('get_users', { count: 180000 }); return await callTool('process_users', { users });`,
    );
    expect(final.ok).toBe(true);
    expect(final.stats.sandboxBytesIn).toBeLessThan(500);
    // The tool_call mirrored to the client shows the token, not ten megabytes.
    const processCall = events.find(
      (e) =>
        e.type === "tool_call" && (e.payload as { toolName: string }).toolName === "process_users",
    )!;
    expect(JSON.stringify(processCall).length).toBeLessThan(400);
    // The result (~1.3 MB of ids) is over the default 1 MiB resolve budget, so it stays a ref...
    const id = refId(final.result);
    const res = await resolve(sessionId, token, [id]);
    expect(res.status).toBe(200);
    const { values } = await res.json();
    expect(values[id].count).toBe(180000);
    expect(values[id].ids.at(-1)).toBe(180000);
  });

  test("...and small returned refs are resolved into final by default, or kept when the policy says so", async () => {
    const script = `const users = await callTool('get_users', {}); return await callTool('process', { users });`;
    expect((await run(script)).final.result).toEqual({ count: 3, ids: [1, 2, 3] });
    const kept = await run(script, { refPolicy: { resolveReturned: false } });
    expect(refId(kept.final.result)).toMatch(/^ref_/);
  });

  test("reading the result materializes it: users.map(u => u.id) still works", async () => {
    const { final } = await run(
      `const users = await callTool('get_users', { count: 1000 }); return users.map((u) => u.id).length;`,
    );
    expect(final).toMatchObject({ ok: true, result: 1000 });
    expect(final.stats.sandboxBytesIn).toBeGreaterThan(50_000);
  });
});

describe("secrets the script cannot read", () => {
  test("the login/password example: the password reaches the next tool but never the sandbox or the stream", async () => {
    const { final, text } = await run(`
      const creds = await callTool('login', {});
      const r = await callTool('use_login', { user: creds.user, password: creds.password });
      return { user: creds.user, ok: r.ok };`);
    expect(final).toMatchObject({ ok: true, result: { user: "ada", ok: true } });
    expect(text).not.toContain(PASSWORD);
    const leak = await run(
      `const creds = await callTool('login', {}); console.log(creds.password); return 1;`,
    );
    expect(leak.final).toMatchObject({ ok: false, error: { code: "ref_access" } });
    expect(leak.text).not.toContain(PASSWORD);
  });

  test("runtimeReadable: false — usable by tools, unreadable by the script even when the code reads it", async () => {
    expect(
      (
        await run(
          `const v = await callTool('vault', {}); return await callTool('count_keys', { v });`,
        )
      ).final,
    ).toMatchObject({ ok: true, result: 1 });
    const read = await run(`const v = await callTool('vault', {}); return v.apiKey;`);
    expect(read.final).toMatchObject({ ok: false, error: { code: "ref_access" } });
    expect(read.text).not.toContain(API_KEY);
  });

  test("a non-readable value cannot be laundered through a tool that reflects its input", async () => {
    const attempts = [
      `const creds = await callTool('login', {}); const e = await callTool('echo', { p: creds.password }); return e.p;`,
      `const creds = await callTool('login', {}); const e = await callTool('echo', [[{ deep: creds.password }]]); return e;`,
      `const creds = await callTool('login', {}); const e = await callTool('echo', creds); return e.password;`,
      `const v = await callTool('vault', {}); return await callTool('echo', { v });`,
      `const creds = await callTool('login', {}); return await callTool('compose', { greeting: creds.password, secret: "x" });`,
    ];
    for (const code of attempts) {
      const { final, text } = await run(code);
      expect(final.ok).toBe(false);
      expect(final.error).toMatchObject({ code: "script_error" });
      expect(final.error!.message).toContain("not readable");
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(API_KEY);
    }
    // Passed on whole (by reference), the redacted field inside is still checked where it lands.
    const whole = await run(
      `const creds = await callTool('login', {}); return await callTool('echo', creds);`,
    );
    expect(whole.final).toMatchObject({ ok: false, error: { code: "script_error" } });
    expect(whole.text).not.toContain(PASSWORD);
    const accepted = await run(
      `const creds = await callTool('login', {}); return (await callTool('use_login', creds)).ok;`,
    );
    expect(accepted.final).toMatchObject({ ok: true, result: true });
    // Caught, the refusal is an ordinary ToolError and nothing of the secret comes with it.
    const caught = await run(
      `const creds = await callTool('login', {}); try { await callTool('echo', { p: creds.password }); } catch (e) { return e.message; }`,
    );
    expect(caught.final.ok).toBe(true);
    expect(String(caught.final.result)).toContain("does not accept one at p");
  });

  test("what a tool makes from a non-readable value is non-readable, unless the tool declassifies", async () => {
    const composed = await run(
      `const creds = await callTool('login', {}); const s = await callTool('compose', { greeting: "hi", secret: creds.password }); return s.length;`,
    );
    expect(composed.final).toMatchObject({ ok: false, error: { code: "ref_access" } });
    expect(composed.text).not.toContain(PASSWORD);
    const returned = await run(
      `const creds = await callTool('login', {}); return await callTool('compose', { greeting: "hi", secret: creds.password });`,
    );
    expect(returned.final.ok).toBe(true);
    const res = await resolve(returned.sessionId, returned.token, [refId(returned.final.result)]);
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain(PASSWORD);
    // Passed on again, it still reaches a tool that accepts it.
    const chained = await run(
      `const creds = await callTool('login', {}); const s = await callTool('compose', { greeting: "hi", secret: creds.password }); return (await callTool('use_login', { user: "ada", password: s })).ok;`,
    );
    expect(chained.final).toMatchObject({ ok: true, result: false });
  });

  test("a returned non-readable ref stays a ref; the client gets it only if its policy allows", async () => {
    const denied = await run(`const creds = await callTool('login', {}); return creds.password;`);
    const res = await resolve(denied.sessionId, denied.token, [refId(denied.final.result)]);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "not_readable" });
    const allowed = await run(`const creds = await callTool('login', {}); return creds.password;`, {
      refPolicy: { allowNonReadable: true },
    });
    const id = refId(allowed.final.result);
    expect((await (await resolve(allowed.sessionId, allowed.token, [id])).json()).values[id]).toBe(
      PASSWORD,
    );
  });
});

describe("POST /refs/resolve is per session", () => {
  test("token required, other sessions' tokens and refs refused, bad bodies named", async () => {
    const a = await run(`return await callTool('get_users', {});`, {
      refPolicy: { resolveReturned: false },
    });
    const b = await run(`return await callTool('get_users', {});`, {
      refPolicy: { resolveReturned: false },
    });
    const idA = refId(a.final.result);
    expect((await resolve(a.sessionId, undefined, [idA])).status).toBe(401);
    expect((await resolve(a.sessionId, b.token, [idA])).status).toBe(403);
    const foreign = await resolve(b.sessionId, b.token, [idA]);
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ error: "unknown_ref" });
    const bad = await resolve(a.sessionId, a.token, ["not-a-ref"]);
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toContain("refs");
    expect((await resolve(a.sessionId, a.token, [idA])).status).toBe(200);
  });

  test("a forged token in args is an unknown ref, not someone else's value", async () => {
    const a = await run(`return await callTool('get_users', {});`, {
      refPolicy: { resolveReturned: false },
    });
    const { final } = await run(
      `return await callTool('echo', { v: { $ref: { id: ${JSON.stringify(refId(a.final.result))} } } });`,
    );
    expect(final.ok).toBe(false);
    expect(final.error!.message).toContain("is not a reference of this session");
  });
});

describe("lifetime", () => {
  test("no value outlives its session", async () => {
    const { final, sessionId, token } = await run(
      `const b = await callTool('blob', {}); return 1;`,
    );
    expect(final.ok).toBe(true);
    Bun.gc(true);
    expect(lastBlob!.deref()).toBeDefined(); // held by the sidecar while the session is retained
    await Bun.sleep(400); // past retainEndedMs: the session is disposed
    expect((await resolve(sessionId, token, ["ref_x"])).status).toBe(404);
    for (let i = 0; i < 5 && lastBlob!.deref(); i++) {
      Bun.gc(true);
      await Bun.sleep(10);
    }
    expect(lastBlob!.deref()).toBeUndefined();
  });
});
