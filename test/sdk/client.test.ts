// The SDK in happy-dom (its fetch and streams, WebCrypto) against the real server on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Window } from "happy-dom";
import {
  createClient,
  HandshakeError,
  HttpError,
  LimitError,
  NetworkError,
  ProtocolError,
  SessionFailedError,
  type SessionEvent,
} from "../../sdk/client/index.ts";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { sid } from "../helpers/session-id.ts";

let llm: FakeLlm;
let server: AuditorProcess;
let window: Window;
let browserFetch: (input: string, init?: RequestInit) => Promise<Response>;
let kid: string;
let identityKey: string;

beforeAll(async () => {
  llm = startFakeLlm();
  server = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      OPENROUTER_API_KEY: "sk-or-sdk",
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
    },
  });
  window = new Window({ url: "http://vj.etherea.localhost/" });
  browserFetch = window.fetch.bind(window) as unknown as typeof browserFetch;
  const { statement } = await (await fetch(`${server.url}/attestation`)).json();
  kid = statement.kid;
  identityKey = statement.identityKey;
});
afterAll(async () => {
  await window?.happyDOM.close();
  await server?.stop();
  llm?.close();
});

const client = (extra: Partial<Parameters<typeof createClient>[0]> = {}) =>
  createClient({ baseUrl: server.url, fetch: browserFetch, ...extra });

describe("functions", () => {
  test("the seed's React 'after' snippet, with the SDK instead of raw fetch", async () => {
    llm.reset();
    const { generatePrompt } = client();
    const currentSessionId = crypto.randomUUID();
    const transcript = "a cathedral of glass";
    const styleTags = "artist:turrell";
    const response = await generatePrompt({
      sessionId: currentSessionId,
      transcript,
      styleTags,
      vjInstruction: null,
    });
    expect(response).toMatchObject({ prompt: "prompt 1", provider_used: "cerebras" });
    expect(JSON.parse(llm.requests[0]!.body).messages[1].content).toContain(transcript);
  });

  test("a failing call throws the seed's 'Prompt generation failed: <status>'", async () => {
    llm.script(
      "openrouter",
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
    );
    const error = await client()
      .generatePrompt({ sessionId: sid("s"), transcript: "x", styleTags: "", vjInstruction: null })
      .catch((e) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error.message).toBe("Prompt generation failed: 500");
    expect(error.status).toBe(500);
    llm.reset();
  });

  test("sealed calls with a pinned key; an unpinned server is refused before any data is sent", async () => {
    llm.reset();
    const sealed = await client({ pinnedKeys: [kid] }).generatePrompt(
      { sessionId: sid("sealed"), transcript: "moon", styleTags: "", vjInstruction: null },
      { sealed: true },
    );
    expect(sealed.provider_used).toBe("cerebras");
    const refused = await client({ pinnedKeys: ["AAAAAAAAAAAAAAAA"] })
      .invoke(
        "generate-prompt",
        { session_id: sid("x"), transcript: "secret words" },
        { sealed: true },
      )
      .catch((e) => e);
    expect(refused).toBeInstanceOf(HandshakeError);
    expect(llm.requests.some((r) => r.body.includes("secret words"))).toBe(false);
    const unpinned = await client()
      .invoke("generate-prompt", {}, { sealed: true })
      .catch((e) => e);
    expect(unpinned).toBeInstanceOf(HandshakeError);
  });

  test("network failures are NetworkError", async () => {
    const dead = createClient({ baseUrl: "http://127.0.0.1:9", fetch: browserFetch });
    expect(await dead.invoke("generate-prompt", {}).catch((e) => e)).toBeInstanceOf(NetworkError);
  });
});

describe("attestation and reports", () => {
  test("attestation checks the pin and the quote's report data", async () => {
    const ok = await client({ pinnedKeys: [identityKey] }).attestation({ nonce: "ab12" });
    expect(ok.statement.nonce).toBe("ab12");
    expect(
      await client({ pinnedKeys: ["AAAAAAAAAAAAAAAA"] })
        .attestation()
        .catch((e) => e),
    ).toBeInstanceOf(HandshakeError);
  });

  test("a report with a nonce: the binding is checked, and a tampered report is refused", async () => {
    const report = await client({ pinnedKeys: [kid] }).report("etherea", { nonce: "cafe01" });
    expect((report.binding as { nonce: string }).nonce).toBe("cafe01");
    // A proxy that edits the report after the server bound it.
    const tampering = async (input: string, init?: RequestInit) => {
      const res = await browserFetch(input, init);
      if (!input.includes("/report/")) return res;
      const body = await res.json();
      body.functions[0].egress[0].host = "evil.example";
      return new Response(JSON.stringify(body), {
        status: res.status,
        headers: { "content-type": "application/json" },
      });
    };
    const refused = await createClient({ baseUrl: server.url, fetch: tampering })
      .report("etherea", { nonce: "cafe01" })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(HandshakeError);
  });
});

describe("sessions", () => {
  const SCRIPT =
    "const users = await callTool('get_users', {}); const who = await callTool('input', { prompt: 'who?' }); return { n: users.length, who };";

  for (const mode of ["plaintext", "encrypted"] as const) {
    test(`${mode}: typed events in order, input by callId, result`, async () => {
      const c = client({ pinnedKeys: [kid] });
      const session = await c.sessions.start(
        SCRIPT,
        mode === "encrypted" ? { encryption: "required" } : {},
      );
      expect(session.encrypted).toBe(mode === "encrypted");
      const seen: SessionEvent[] = [];
      for await (const event of session) {
        seen.push(event);
        if (event.type === "tool_call" && event.payload.toolName === "input") {
          expect(await session.input(event.payload.callId, "Grace")).toMatchObject({
            applied: true,
          });
          expect(await session.input(event.payload.callId, "Grace")).toMatchObject({
            applied: false,
          });
        }
      }
      expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 2));
      expect(await session.result()).toEqual({ n: 3, who: "Grace" });
      expect((await session.state()).state).toBe("completed");
    });
  }

  test("cancel, refs and limits come back typed", async () => {
    const c = client({ pinnedKeys: [kid] });
    const waiting = await c.sessions.start("await callTool('input', {}); return 1;", {
      encryption: "required",
    });
    for await (const event of waiting) if (event.type === "tool_call") break;
    expect(await waiting.cancel()).toMatchObject({ state: "cancelled" });
    const cancelled = (await waiting.result().catch((e) => e)) as SessionFailedError;
    expect(cancelled).toBeInstanceOf(SessionFailedError);
    expect(cancelled.code).toBe("cancelled");

    const byRef = await c.sessions.start("return await callTool('get_users', { count: 2 });", {
      refPolicy: { resolveReturned: false },
    });
    const token = (await byRef.result()) as { $ref: { id: string } };
    const values = await c.refs.resolve(byRef, [token]);
    expect(values[token.$ref.id]).toHaveLength(2);

    const limited = await c.sessions.start(
      "for (let i = 0; i < 5; i++) { await callTool('echo', {}); } return 1;",
      { limits: { maxToolCalls: 2 } },
    );
    const error = (await limited.result().catch((e) => e)) as LimitError;
    expect(error).toBeInstanceOf(LimitError);
    expect(error.code).toBe("max_tool_calls");
  });

  test("encryption without a pin, or with the wrong pin, is a HandshakeError", async () => {
    expect(
      await client()
        .sessions.start("return 1", { encryption: "required" })
        .catch((e) => e),
    ).toBeInstanceOf(HandshakeError);
    expect(
      await client({ pinnedKeys: ["AAAAAAAAAAAAAAAA"] })
        .sessions.start("return 1", { encryption: "required" })
        .catch((e) => e),
    ).toBeInstanceOf(HandshakeError);
  });

  test("a dropped connection is resumed from the last seq", async () => {
    let cut = 0;
    const resumedFrom: string[] = [];
    // The first stream is cut after its third line (mid-way through the fourth); resumes pass through.
    const cutting = async (input: string, init?: RequestInit) => {
      const res = await browserFetch(input, init);
      if (input.includes("/stream?")) resumedFrom.push(new URL(input).searchParams.get("fromSeq")!);
      if (!input.endsWith("/sessions") || cut++ > 0) return res;
      const text = await res.text();
      const lines = text.split("\n");
      const partial = lines.slice(0, 3).join("\n") + "\n" + lines[3]!.slice(0, 10);
      return new Response(partial, {
        status: 200,
        headers: { "content-type": "application/x-ndjson" },
      });
    };
    for (const encryption of [undefined, "required"] as const) {
      cut = 0;
      const c = createClient({ baseUrl: server.url, fetch: cutting, pinnedKeys: [kid] });
      const session = await c.sessions.start(
        "let t = 0; for (let i = 0; i < 5; i++) { t += (await callTool('echo', { i })).i; } return t;",
        encryption ? { encryption } : {},
      );
      expect(await session.result()).toBe(10);
    }
    expect(resumedFrom).toEqual(["4", "4"]); // after seq 3, the last whole line, in both modes
  });
});

describe("a server that breaks the protocol", () => {
  const fakeServer = (lines: string[]) =>
    Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response(lines.join("\n") + "\n", {
          headers: { "content-type": "application/x-ndjson", "access-control-allow-origin": "*" },
        }),
    });
  const init = {
    protocolVersion: 1,
    sessionId: sid("ses_fake"),
    seq: 1,
    type: "session_init",
    payload: {
      cancelUrl: "/x",
      expiresAt: "2030-01-01T00:00:00Z",
      encryption: { enabled: false },
      sessionToken: "t",
    },
  };
  const stdout = (seq: number) =>
    JSON.stringify({
      protocolVersion: 1,
      sessionId: sid("ses_fake"),
      seq,
      type: "stdout",
      payload: { chunk: "hi" },
    });

  test.each([
    ["garbage", [JSON.stringify(init), "<html>502</html>"]],
    ["a seq gap", [JSON.stringify(init), stdout(2), stdout(4)]],
    [
      "an event of another session",
      [JSON.stringify(init), stdout(2).replace("ses_fake", "ses_other")],
    ],
  ])("%s → ProtocolError", async (_, lines) => {
    const fake = fakeServer(lines as string[]);
    try {
      const session = await createClient({
        baseUrl: `http://127.0.0.1:${fake.port}`,
        fetch: browserFetch,
      }).sessions.start("return 1");
      expect(await session.result().catch((e) => e)).toBeInstanceOf(ProtocolError);
    } finally {
      fake.stop(true);
    }
  });

  test("control and status replies that are not the protocol's → ProtocolError, not a typed lie", async () => {
    // The stream stays open (no final) while cancel, input, refs and state get odd answers.
    const replies: Record<string, unknown> = {
      "/sessions/ses_fake/cancel": { sessionId: "ses_fake", state: "exploded" },
      "/sessions/ses_fake/input": { applied: "yes" },
      "/refs/resolve": { sessionId: "ses_fake", values: "none", extra: 1 },
      "/sessions/ses_fake": { sessionId: "ses_fake" },
    };
    const fake = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "*" };
        if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
        const path = new URL(req.url).pathname;
        if (path === "/sessions") {
          const body = new ReadableStream({
            start: (c) => c.enqueue(new TextEncoder().encode(JSON.stringify(init) + "\n")),
          });
          return new Response(body, {
            headers: { ...cors, "content-type": "application/x-ndjson" },
          });
        }
        return Response.json(replies[path] ?? {}, { headers: cors });
      },
    });
    try {
      const session = await createClient({
        baseUrl: `http://127.0.0.1:${fake.port}`,
        fetch: browserFetch,
      }).sessions.start("return 1");
      for (const call of [
        () => session.cancel(),
        () => session.input("c1", 1),
        () => session.resolveRefs(["r1"]),
        () => session.state(),
      ]) {
        expect(await call().catch((e) => e)).toBeInstanceOf(ProtocolError);
      }
      session.close();
    } finally {
      fake.stop(true);
    }
  });

  test("a first line that is not session_init → ProtocolError", async () => {
    const fake = fakeServer([stdout(1)]);
    try {
      expect(
        await createClient({ baseUrl: `http://127.0.0.1:${fake.port}`, fetch: browserFetch })
          .sessions.start("return 1")
          .catch((e) => e),
      ).toBeInstanceOf(ProtocolError);
    } finally {
      fake.stop(true);
    }
  });
});
