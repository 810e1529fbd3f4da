// Secret settings are never published: with every secret set (API keys, session keys, a state
// store URL carrying a password), the report (JSON and markdown), every other public answer
// and every log line of the real server never contain one. URL settings that would publish a
// credential stop start-up, naming the variable.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { runAuditor, startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { ndjson } from "../helpers/sessions.ts";

const SECRETS = {
  OPENROUTER_API_KEY: "sk-or-SECRET-openrouter-7f3a",
  ANTHROPIC_API_KEY: "sk-ant-SECRET-anthropic-91c2",
  AUDITOR_API_KEYS: "key-SECRET-session-a4d1",
  // Redis without requirepass ignores the password; the server must still never show it.
  STATE_PASSWORD: "SECRET-store-pw-55e0",
};

let llm: FakeLlm;
let server: AuditorProcess;
const published: string[] = [];

beforeAll(async () => {
  llm = startFakeLlm();
  server = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      LOG_LEVEL: "debug",
      OPENROUTER_API_KEY: SECRETS.OPENROUTER_API_KEY,
      ANTHROPIC_API_KEY: SECRETS.ANTHROPIC_API_KEY,
      AUDITOR_API_KEYS: SECRETS.AUDITOR_API_KEYS,
      AUDITOR_STATE_URL: `redis://:${SECRETS.STATE_PASSWORD}@127.0.0.1:6379`,
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
      ANTHROPIC_BASE_URL: llm.anthropicBaseUrl,
    },
  });
});
afterAll(async () => {
  await server?.stop();
  llm?.close();
});

const keep = async (res: Response) => {
  const text = await res.text();
  published.push(text, JSON.stringify(Object.fromEntries(res.headers)));
  return text;
};

describe("secret settings", () => {
  test("neither the report (JSON, markdown, bound), nor any answer, nor any log line contains a secret", async () => {
    // Cerebras fails once so both providers' keys are used.
    llm.script(
      "openrouter",
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
    );
    const invoke = await fetch(`${server.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        session_id: crypto.randomUUID(),
        transcript: "a quiet harbour",
        style_tags: "",
        vj_instruction: null,
      }),
    });
    expect(JSON.parse(await keep(invoke))).toMatchObject({ provider_used: "claude-fallback" });
    expect(
      llm.requests.some((r) => r.headers.authorization === `Bearer ${SECRETS.OPENROUTER_API_KEY}`),
    ).toBe(true);
    expect(llm.requests.some((r) => r.headers["x-api-key"] === SECRETS.ANTHROPIC_API_KEY)).toBe(
      true,
    );

    const json = JSON.parse(await keep(await fetch(`${server.url}/report/etherea`)));
    expect(json.stateStore).toMatchObject({ kind: "redis", host: "127.0.0.1:6379" });
    expect(json.egressPolicy).toContainEqual(
      expect.objectContaining({
        fn: "(sealed state)",
        origin: "redis://127.0.0.1:6379",
        url: "redis://127.0.0.1:6379",
      }),
    );
    expect(
      await keep(
        await fetch(`${server.url}/report/etherea`, { headers: { accept: "text/markdown" } }),
      ),
    ).toContain("redis");
    await keep(await fetch(`${server.url}/report/etherea?nonce=00ff`));
    for (const path of ["/functions", "/attestation", "/healthz"])
      await keep(await fetch(`${server.url}${path}`));

    // Sessions: a wrong key, then the right one (the key must not come back in any answer).
    await keep(
      await fetch(`${server.url}/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer wrong" },
        body: JSON.stringify({ protocolVersion: 1, code: "return 1" }),
      }),
    );
    const session = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${SECRETS.AUDITOR_API_KEYS}`,
      },
      body: JSON.stringify({ protocolVersion: 1, code: "return 1" }),
    });
    expect(session.status).toBe(200);
    for await (const event of ndjson(session)) published.push(JSON.stringify(event));

    expect(await server.stop()).toBe(0);
    const everything = [...published, ...server.lines, server.stderr()].join("\n");
    expect(server.lines.length).toBeGreaterThan(5);
    for (const [name, value] of Object.entries(SECRETS))
      expect({ name, found: everything.includes(value) }).toEqual({ name, found: false });
  });
});

describe("URL settings that would publish a credential stop start-up", () => {
  test("userinfo or a query in an upstream override, the guest agent URL or --connect: exit 2, the variable named, the secret not shown", async () => {
    const runs: [Record<string, string>, string[], string][] = [
      [
        { OPENROUTER_BASE_URL: "http://user:SECRET-pw@127.0.0.1:9/api/v1" },
        [],
        "OPENROUTER_BASE_URL",
      ],
      [{ ANTHROPIC_BASE_URL: "https://api.example/?key=SECRET-pw" }, [], "ANTHROPIC_BASE_URL"],
      [{}, ["--dstack-endpoint", "http://a:SECRET-pw@127.0.0.1:1"], "--dstack-endpoint"],
      [
        {},
        [
          "runtime",
          "--connect",
          "https://u:SECRET-pw@middleware.example",
          "--pin",
          "AAAAAAAAAAAAAAAA",
        ],
        "--connect",
      ],
    ];
    for (const [env, args, named] of runs) {
      const { code, stderr, stdout } = await runAuditor({ env, args });
      expect({ named, code }).toEqual({ named, code: 2 });
      expect(stderr).toContain(`${named}: must not carry`);
      expect(stderr + stdout).not.toContain("SECRET-pw");
    }
  });
});
