// Which tools a session can call in a dstack deployment: demo tools only when the operator asks
// (AUDITOR_DEMO_TOOLS=1), and attested functions marked sessionTool, whose egress is checked and
// recorded under the function exactly as for POST /invoke.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeDstack, type FakeDstack } from "../fixtures/fake-dstack.ts";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";

const SECRET = "sk-or-v1-SECRET-93be1d-session-tool";
let llm: FakeLlm;
let dstack: FakeDstack;
let plain: AuditorProcess;
let withDemo: AuditorProcess;

beforeAll(async () => {
  llm = startFakeLlm();
  const socketPath = join(tempDir(), "dstack.sock");
  dstack = await startFakeDstack({ socketPath });
  const env = {
    AUDITOR_TEE: "dstack",
    DSTACK_SIMULATOR_ENDPOINT: socketPath,
    AUDITOR_CORS_ORIGINS: "https://vj.example",
    OPENROUTER_API_KEY: SECRET,
    OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
  };
  [plain, withDemo] = await Promise.all([
    startAuditor({ env }),
    startAuditor({ env: { ...env, AUDITOR_DEMO_TOOLS: "1" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), withDemo?.stop()]);
  await dstack?.close();
  llm?.close();
});

async function run(server: AuditorProcess, code: string) {
  const res = await fetch(`${server.url}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ protocolVersion: 1, code }),
  });
  const text = await res.text();
  return { text, final: JSON.parse(text.trimEnd().split("\n").at(-1)!) };
}

describe("session tools under dstack", () => {
  test("demo tools are off unless AUDITOR_DEMO_TOOLS=1", async () => {
    const off = await run(plain, "return await callTool('get_users', {});");
    expect(off.final.payload).toMatchObject({ ok: false, error: { code: "script_error" } });
    expect(off.final.payload.error.message).toContain('unknown tool "get_users"');
    const on = await run(
      withDemo,
      "const users = await callTool('get_users', {}); return await callTool('process', { users });",
    );
    expect(on.final.payload).toMatchObject({ ok: true, result: { count: 3, ids: [1, 2, 3] } });
  });

  test("generate-prompt is a session tool: same validation, egress recorded under the function, no secret in the stream", async () => {
    llm.reset();
    const { text, final } = await run(
      plain,
      `
      const r = await callTool("generate-prompt", { session_id: "agent-1_______________", transcript: "a forest of neon", style_tags: "", vj_instruction: null });
      return r.prompt;`,
    );
    expect(final.payload).toMatchObject({ ok: true, result: "prompt 1" });
    expect(llm.requests).toHaveLength(1);
    expect(llm.requests[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(text).not.toContain(SECRET);

    const report = await (await fetch(`${plain.url}/report/etherea`)).json();
    expect(report.functions[0]).toMatchObject({ name: "generate-prompt", sessionTool: true });
    expect(report.egressLog.recent.at(-1)).toMatchObject({ fn: "generate-prompt", allowed: true });

    const bad = await run(plain, `return await callTool("generate-prompt", { transcript: 5 });`);
    expect(bad.final.payload.ok).toBe(false);
    expect(bad.final.payload.error.message).toContain("invalid arguments for generate-prompt");
    expect(bad.final.payload.error.message).toContain("transcript");
    expect(llm.requests).toHaveLength(1);
  });
});
