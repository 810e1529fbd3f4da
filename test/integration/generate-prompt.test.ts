// POST /invoke/generate-prompt over real HTTP, against a fake OpenRouter and Anthropic.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { sid } from "../helpers/session-id.ts";

const OPENROUTER_KEY = "sk-or-v1-SECRET-openrouter-4f1c2a9b8e7d";
const ANTHROPIC_KEY = "sk-ant-api03-SECRET-anthropic-0b9c8d7e6f";

const SEED_SYSTEM_PROMPT = `Given the following transcript, produce an effective Stable Diffusion prompt.

CRITICAL: The diffusion model has NO MEMORY. Each prompt is processed independently.
You must include ALL visual details in EVERY prompt.

IMPORTANT GUIDELINES FOR CHARACTERS AND IP:
- When users specifically request characters, reproduce them faithfully
- Include recognizable details like clothing, appearance, iconic features
- For fictional characters, use their proper names and distinctive visual traits

Never write things like "same as before", "continue the previous style".
Keep prompts under 300 characters. No emojis.`;

let llm: FakeLlm;
let server: AuditorProcess;
const bodies: string[] = [];

function withKeys(extra: Record<string, string> = {}) {
  return {
    OPENROUTER_API_KEY: OPENROUTER_KEY,
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
    ANTHROPIC_BASE_URL: llm.anthropicBaseUrl,
    AUDITOR_TEE: "dev",
    ...extra,
  };
}

async function invoke(base: string, input: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/invoke/generate-prompt`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof input === "string" ? input : JSON.stringify(input),
  });
  const text = await res.text();
  bodies.push(text);
  return { status: res.status, headers: res.headers, body: JSON.parse(text) };
}

beforeAll(async () => {
  llm = startFakeLlm();
  server = await startAuditor({ env: withKeys() });
});
afterAll(async () => {
  await server?.stop();
  llm?.close();
});
beforeEach(() => llm.reset());

describe("generate-prompt upstream calls", () => {
  test("success via Cerebras: request body and headers are the seed's, byte for byte", async () => {
    const res = await invoke(server.url, {
      session_id: sid("golden"),
      transcript: 'hello "world" é',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ prompt: "prompt 1", provider_used: "cerebras" });
    expect(Number.isInteger(res.body.latency_ms)).toBe(true);
    expect(llm.requests).toHaveLength(1);
    const [request] = llm.requests;
    expect(request!.body).toBe(
      `{"model": "openai/gpt-oss-120b", "messages": [{"role": "system", "content": ${JSON.stringify(SEED_SYSTEM_PROMPT)}}, ` +
        `{"role": "user", "content": "Transcript:\\nhello \\"world\\" \\u00e9\\n\\nGenerate a Stable Diffusion prompt for this scene."}], ` +
        `"max_tokens": 300, "temperature": 0.7, "provider": {"order": ["Cerebras"], "allow_fallbacks": false}}`,
    );
    expect(request!.headers).toMatchObject({
      "content-type": "application/json",
      authorization: `Bearer ${OPENROUTER_KEY}`,
      "http-referer": "https://etherea.ai",
      "x-title": "Etherea",
    });
  });

  test("retry then success: two failures, the third Cerebras attempt answers", async () => {
    llm.script("openrouter", { kind: "status", status: 500 }, { kind: "status", status: 429 });
    const res = await invoke(server.url, { session_id: sid("retry"), transcript: "rain" });
    expect(res.body.provider_used).toBe("cerebras");
    expect(llm.requests.map((r) => r.provider)).toEqual(["openrouter", "openrouter", "openrouter"]);
  });

  test("fallback to Claude after three Cerebras failures, with the seed's Anthropic request", async () => {
    llm.script(
      "openrouter",
      { kind: "status", status: 503 },
      { kind: "garbage" },
      { kind: "ok", text: "   " },
    );
    llm.script("anthropic", { kind: "ok", text: "Sure! <prompt>a lighthouse in fog</prompt>" });
    const res = await invoke(server.url, {
      session_id: sid("fallback"),
      transcript: "fog",
      style_tags: "",
      vj_instruction: "evolve",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      prompt: "a lighthouse in fog",
      provider_used: "claude-fallback",
    });
    const claude = llm.requests.at(-1)!;
    expect(claude.provider).toBe("anthropic");
    expect(claude.headers).toMatchObject({
      "x-api-key": ANTHROPIC_KEY,
      "anthropic-version": "2023-06-01",
      "content-type": "application/json",
    });
    const system = `${SEED_SYSTEM_PROMPT}\n\n=== VJ INSTRUCTION ===\nGradually evolve the current scene. Subtle changes.`;
    expect(claude.body).toBe(
      `{"model": "claude-sonnet-4-5", "max_tokens": 300, "system": ${JSON.stringify(system)}, ` +
        `"messages": [{"role": "user", "content": "Transcript:\\nfog\\n\\nGenerate a Stable Diffusion prompt for this scene."}]}`,
    );
  });

  test("all providers failing gives the seed's 500 body", async () => {
    llm.script(
      "openrouter",
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
    );
    llm.script("anthropic", { kind: "status", status: 529 });
    const res = await invoke(server.url, { session_id: sid("down"), transcript: "x" });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: "All LLM providers failed" });
  });

  test("non-JSON and oversized replies are failures, not crashes", async () => {
    llm.script(
      "openrouter",
      { kind: "garbage" },
      { kind: "huge", bytes: 5 * 1024 * 1024 },
      { kind: "garbage" },
    );
    llm.script("anthropic", { kind: "huge", bytes: 5 * 1024 * 1024 });
    const res = await invoke(server.url, { session_id: sid("junk"), transcript: "x" });
    expect(res.body).toEqual({ error: "All LLM providers failed" });
    const report = await (await fetch(`${server.url}/report/etherea`)).json();
    const tooLarge = report.egressLog.recent.filter(
      (e: { error?: string }) => e.error === "EgressResponseTooLargeError",
    );
    expect(tooLarge.length).toBe(2);
    expect((await invoke(server.url, { session_id: sid("junk"), transcript: "y" })).status).toBe(
      200,
    );
  });

  test("a 6 s stall hits the 5 s timeout on each attempt, then Claude answers", async () => {
    llm.script(
      "openrouter",
      { kind: "stall", ms: 6000 },
      { kind: "stall", ms: 6000 },
      { kind: "stall", ms: 6000 },
    );
    llm.script("anthropic", { kind: "ok", text: "<prompt>after the stall</prompt>" });
    const res = await invoke(server.url, { session_id: sid("stall"), transcript: "x" });
    expect(res.body).toMatchObject({ prompt: "after the stall", provider_used: "claude-fallback" });
    const report = await (await fetch(`${server.url}/report/etherea`)).json();
    const timeouts = report.egressLog.recent.filter(
      (e: { error?: string }) => e.error === "TimeoutError",
    );
    expect(timeouts.length).toBe(3);
  }, 25_000);

  test("a session's 5 most recent prompts carry over, newest first", async () => {
    for (let i = 1; i <= 6; i++)
      expect(
        (await invoke(server.url, { session_id: sid("rotation"), transcript: `line ${i}` })).body
          .prompt,
      ).toBe(`prompt ${i}`);
    await invoke(server.url, { session_id: sid("rotation"), transcript: "line 7" });
    const sent = JSON.parse(llm.requests.at(-1)!.body);
    expect(sent.messages[0].content).toEndWith(
      "=== RECENT PROMPT (for continuity) ===\nprompt 6\n\nBuild iteratively on this scene. Evolve, don't repeat.",
    );
    expect(sent.messages[1].content).toBe(
      "Recent prompts for context:\nprompt 6\nprompt 5\nprompt 4\n\nNew transcript to respond to:\nline 7\n\nGenerate a new prompt that builds on the scene.",
    );
    // Another session starts empty.
    await invoke(server.url, { session_id: sid("rotation-other"), transcript: "fresh" });
    expect(JSON.parse(llm.requests.at(-1)!.body).messages[1].content).toStartWith(
      "Transcript:\nfresh",
    );
  });
});
