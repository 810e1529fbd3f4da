// Request ids: a valid incoming X-Request-Id is honoured, anything else is replaced (never
// echoed, never logged), and the one id names every log line a request causes: the request
// line, the function's own lines, the egress lines and, for a session, its lifecycle lines, also
// those logged later from a worker's tool call, a timer or another request.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { safeJson, startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { events, untilType } from "../helpers/sessions.ts";
import {
  createAuditedFetch,
  EgressBlockedError,
  EgressLog,
  logEgressEntries,
  runAsCaller,
} from "../../src/egress/index.ts";
import { createLogger } from "../../src/log.ts";
import { runInRequest } from "../../src/request-context.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let llm: FakeLlm;
let server: AuditorProcess;

beforeAll(async () => {
  llm = startFakeLlm();
  server = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      OPENROUTER_API_KEY: "sk-or-test",
      ANTHROPIC_API_KEY: "sk-ant-test",
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
      ANTHROPIC_BASE_URL: llm.anthropicBaseUrl,
      AUDITOR_DISCONNECT_GRACE_MS: "200",
    },
  });
});
afterAll(async () => {
  await server?.stop();
  llm?.close();
});
beforeEach(() => llm.reset());

const entries = () =>
  server.lines.map(safeJson).filter((e): e is Record<string, any> => e !== undefined);
const linesOf = (requestId: string) => entries().filter((e) => e.requestId === requestId);

async function until<T>(find: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const found = find();
    if (found !== undefined) return found;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const requestLine = (requestId: string) =>
  until(
    () => linesOf(requestId).find((e) => e.msg === "request"),
    `the request line of ${requestId}`,
  );

/** One GET over a raw socket, for header bytes fetch() would not send; resolves with the head. */
function rawGet(headerBytes: Buffer): Promise<string> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1");
    let out = "";
    socket.on("data", (d) => (out += d.toString("latin1")));
    socket.on("end", () => resolve(out.split("\r\n\r\n")[0]!));
    socket.on("error", reject);
    socket.write(
      Buffer.concat([
        Buffer.from("GET /healthz HTTP/1.1\r\nHost: auditor\r\nConnection: close\r\n"),
        headerBytes,
        Buffer.from("\r\n"),
      ]),
    );
  });
}

const headerOf = (head: string, name: string) =>
  head
    .split("\r\n")
    .filter((l) => l.toLowerCase().startsWith(`${name}:`))
    .map((l) => l.slice(name.length + 1).trim());

describe("X-Request-Id", () => {
  test("a valid id is honoured: returned and named in the request line, up to 128 characters", async () => {
    for (const id of [
      "01HV7Q9Z3K8M2N4P6R8T0V2X4Y",
      "trace:4bf92f3577b34da6.a3ce929d0e0e4736-01",
      "x".repeat(128),
      "A-Z_a-z.0-9:",
    ]) {
      const res = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": id } });
      expect(res.headers.get("x-request-id")).toBe(id);
      const line = await requestLine(id);
      expect(line).toMatchObject({ path: "/healthz", status: 200 });
      expect(line.requestIdRefused).toBeUndefined();
    }
  });

  test("without one, every answer gets a fresh UUID, errors included", async () => {
    const a = await fetch(`${server.url}/healthz`);
    const b = await fetch(`${server.url}/no/such/route`);
    expect(b.status).toBe(404);
    for (const res of [a, b]) expect(res.headers.get("x-request-id")).toMatch(UUID);
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  test("an invalid id is replaced by a fresh one, never echoed and never logged", async () => {
    const hostile = [
      `long-${"y".repeat(124)}`, // 129 characters
      "",
      "has space-marker1",
      'quote"marker2',
      "a=b-marker3",
      "a/b-marker4",
      "a;b-marker5",
      "<script>marker6",
      '{"msg":"forged-marker7"}',
      "%0d%0aSet-Cookie:marker8",
    ];
    for (const id of hostile) {
      const res = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": id } });
      const given = res.headers.get("x-request-id")!;
      expect(given).toMatch(UUID);
      expect((await requestLine(given)).requestIdRefused).toBe(true);
    }
    // Several headers reach the server joined ("a, b"): not one id, so neither is taken.
    const headers = new Headers();
    headers.append("x-request-id", "first-marker9");
    headers.append("x-request-id", "second-marker9");
    const several = await fetch(`${server.url}/healthz`, { headers });
    expect(several.headers.get("x-request-id")).toMatch(UUID);
    expect((await requestLine(several.headers.get("x-request-id")!)).requestIdRefused).toBe(true);

    const log = server.lines.join("\n");
    for (let i = 1; i <= 9; i++) expect(log).not.toContain(`marker${i}`);
    expect(log).not.toContain("y".repeat(124));
  });

  test("control characters, CR/LF, NUL and non-ASCII bytes never reach a header or a log line", async () => {
    const cases = [
      "X-Request-Id: ctl\x01marker10\r\n",
      "X-Request-Id: del\x7fmarker11\r\n",
      "X-Request-Id: tab\tmarker12\r\n",
      "X-Request-Id: nul\x00marker13\r\n",
      "X-Request-Id: lf\nInjected: marker14\r\n",
      "X-Request-Id: cr\rInjected: marker15\r\n",
      "X-Request-Id: fold\r\n marker16\r\n",
      "X-Request-Id: caf\xe9-marker17\r\n",
    ];
    const heads = cases.map((c) => Buffer.from(c, "latin1"));
    heads.push(Buffer.from("X-Request-Id: caf\u00e9-\u{1F600}-marker18\r\n", "utf8"));
    // CRLF ends the header: what follows is another request header, which is never reflected.
    heads.push(Buffer.from("X-Request-Id: plain-id-19\r\nSet-Cookie: marker19\r\n", "latin1"));
    for (const bytes of heads) {
      const head = await rawGet(bytes);
      const status = Number(head.split(" ")[1]);
      // Bun refuses a malformed header line itself (400, before our code); a well-formed one
      // with characters outside the charset gets a fresh id.
      expect([200, 400]).toContain(status);
      if (status === 200) {
        const [id] = headerOf(head, "x-request-id");
        expect(id === "plain-id-19" || UUID.test(id!)).toBe(true);
      }
      expect(head).not.toContain("marker");
      expect(head.toLowerCase()).not.toContain("injected");
      expect(headerOf(head, "set-cookie")).toEqual([]);
    }
    expect(server.lines.join("\n")).not.toContain("marker");
  });
});

describe("one id across a request's log lines", () => {
  test("an invoke: the request, the function's own line and every egress line", async () => {
    llm.script(
      "openrouter",
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
    );
    llm.script("anthropic", { kind: "status", status: 500 });
    const id = "invoke-trace-1";
    const res = await fetch(`${server.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": id },
      body: JSON.stringify({
        session_id: crypto.randomUUID(),
        transcript: "neon rain",
        style_tags: "",
        vj_instruction: null,
      }),
    });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-request-id")).toBe(id);
    await requestLine(id);
    const lines = linesOf(id);
    expect(
      lines.filter((e) => e.msg === "egress").map((e) => [e.host, e.path, e.status, e.fn]),
    ).toEqual([
      ...Array(3).fill([new URL(llm.url).host, "/api/v1/chat/completions", 500, "generate-prompt"]),
      [new URL(llm.url).host, "/v1/messages", 500, "generate-prompt"],
    ]);
    expect(lines.find((e) => e.msg === "all LLM providers failed")).toMatchObject({
      level: "warn",
      app: "etherea",
      fn: "generate-prompt",
    });
    // Every line logged while the request ran is the request's: none lost its id.
    const egressSeqs = lines.filter((e) => e.msg === "egress").map((e) => e.seq);
    expect(
      entries()
        .filter((e) => e.msg === "egress" && egressSeqs.includes(e.seq))
        .every((e) => e.requestId === id),
    ).toBe(true);

    // The public, hash-chained entries keep their contract shape: no request id there.
    const log = (await (await fetch(`${server.url}/egress-log`)).json()) as {
      entries: Record<string, unknown>[];
    };
    const caused = log.entries.filter((e) => egressSeqs.includes(e.seq));
    expect(caused).toHaveLength(4);
    for (const entry of caused) expect(JSON.stringify(entry)).not.toContain(id);
  });

  test("a session: its lifecycle, its tool's egress from a worker, and its end after another request", async () => {
    const id = "session-trace-1";
    const code = `
      const made = await callTool("generate-prompt", { session_id: "agent-1_______________", transcript: "a forest", style_tags: "", vj_instruction: null });
      const more = await callTool("input", { prompt: "more?" });
      return [made.prompt, more];`;
    const res = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": id },
      body: JSON.stringify({ protocolVersion: 1, code }),
    });
    expect(res.headers.get("x-request-id")).toBe(id);
    const stream = events(res);
    const init = await untilType(stream, "session_init");
    const token = (init.payload as { sessionToken: string }).sessionToken;
    const call = await untilType(stream, "tool_call");
    const input = await untilType(stream, "tool_call");
    expect([call.payload, input.payload]).toMatchObject([
      { toolName: "generate-prompt" },
      { toolName: "input" },
    ]);

    // The answer comes in another request, with its own id; the session's end is still the starter's.
    const answer = await fetch(`${server.url}/sessions/${init.sessionId}/input`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
        "x-request-id": "input-trace-1",
      },
      body: JSON.stringify({ callId: (input.payload as { callId: string }).callId, value: "yes" }),
    });
    expect(answer.status).toBe(200);
    expect(await untilType(stream, "final")).toMatchObject({
      payload: { ok: true, result: ["prompt 1", "yes"] },
    });

    const ended = await until(
      () => linesOf(id).find((e) => e.msg === "session ended"),
      "session ended",
    );
    expect(ended).toMatchObject({ sessionId: init.sessionId, state: "completed" });
    expect(linesOf(id).find((e) => e.msg === "session started")).toMatchObject({
      sessionId: init.sessionId,
      encrypted: false,
    });
    expect(
      linesOf(id)
        .filter((e) => e.msg === "egress")
        .map((e) => e.fn),
    ).toEqual(["generate-prompt"]);
    expect((await requestLine(id)).path).toBe("/sessions");
    expect((await requestLine("input-trace-1")).path).toBe(`/sessions/${init.sessionId}/input`);
    // No line about this session carries another id.
    const others = entries().filter((e) => e.sessionId === init.sessionId && e.requestId !== id);
    expect(others).toEqual([]);
  });

  test("a session cancelled after its client went away logs that under the starting request's id", async () => {
    const id = "session-trace-2";
    const aborted = new AbortController();
    const res = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": id },
      body: JSON.stringify({ protocolVersion: 1, code: `return await callTool("input", {});` }),
      signal: aborted.signal,
    });
    const stream = events(res);
    const init = await untilType(stream, "session_init");
    await untilType(stream, "tool_call");
    aborted.abort();
    const cancelled = await until(
      () => linesOf(id).find((e) => e.msg === "session cancelled after client disconnect"),
      "the disconnect line",
    );
    expect(cancelled.sessionId).toBe(init.sessionId);
    expect(
      await until(() => linesOf(id).find((e) => e.msg === "session ended"), "session ended"),
    ).toMatchObject({ state: "cancelled", code: "cancelled" });
  });
});

describe("egress lines in-process", () => {
  test("allowed and blocked calls are logged with the request's id; the public entries never hold it", async () => {
    const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
    try {
      const egressLog = new EgressLog();
      const written: string[] = [];
      logEgressEntries(
        egressLog,
        createLogger("info", (line) => written.push(line)),
      );
      const audited = createAuditedFetch(globalThis.fetch.bind(globalThis), egressLog);
      const allowed = `http://127.0.0.1:${upstream.port}`;
      await runInRequest({ requestId: "in-process-1" }, () =>
        runAsCaller(
          { app: "probe", fn: "probe", allowedOrigins: new Set([allowed]), secretValues: [] },
          async () => {
            expect(await (await audited(`${allowed}/ok?token=secret-query-value`)).text()).toBe(
              "ok",
            );
            await expect(audited("http://127.0.0.2:9/elsewhere")).rejects.toBeInstanceOf(
              EgressBlockedError,
            );
          },
        ),
      );
      const lines = written.map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.level, l.msg, l.requestId, l.seq, l.allowed])).toEqual([
        ["info", "egress", "in-process-1", 1, true],
        ["warn", "egress blocked", "in-process-1", 2, false],
      ]);
      expect(written.join("\n")).not.toContain("secret-query-value");
      for (const entry of egressLog.list()) expect(Object.keys(entry)).not.toContain("requestId");
    } finally {
      upstream.stop(true);
    }
  });

  test("a line names the request it runs in, unless the caller names one; none outside a request", () => {
    const written: string[] = [];
    const log = createLogger("info", (line) => written.push(line));
    log.info("outside");
    runInRequest({ requestId: "ctx-1" }, () => {
      log.info("inside");
      log.child({ requestId: "starter-1" }).info("session line");
    });
    expect(written.map((l) => JSON.parse(l)).map((l) => [l.msg, l.requestId])).toEqual([
      ["outside", undefined],
      ["inside", "ctx-1"],
      ["session line", "starter-1"],
    ]);
  });
});
