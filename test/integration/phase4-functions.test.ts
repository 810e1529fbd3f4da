// The other ETHEREA LLM calls as attested functions, over real HTTP against fake upstreams:
// fix-shader, dj and youtube-metadata, their failure paths, their local answers without keys,
// their report entries; and the Firestore analytics sink against a fake of its REST API.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { checkFragmentShader, MAX_SHADER_BYTES } from "../../functions/lib/glsl.ts";
import { fitToYouTube } from "../../functions/youtube-metadata.ts";
import { sid } from "../helpers/session-id.ts";

const BROKEN = "void main() {\n  vec3 c = vec3(1.0, 0.2, 0.6)\n  gl_FragColor = vec4(c, 1.0);\n}";
const FIXED =
  "precision mediump float;\nvoid main() {\n  vec3 c = vec3(1.0, 0.2, 0.6);\n  gl_FragColor = vec4(c, 1.0);\n}";

let llm: FakeLlm;
let server: AuditorProcess;
let offline: AuditorProcess;
const firestore: { path: string; auth: string | null; body: any }[] = [];
let firestoreFails = false;
let firestoreServer: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  llm = startFakeLlm();
  firestoreServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (firestoreFails) return new Response("unavailable", { status: 503 });
      firestore.push({
        path: new URL(req.url).pathname,
        auth: req.headers.get("authorization"),
        body: await req.json(),
      });
      return Response.json({
        name: "projects/demo-etherea/databases/(default)/documents/prompts/x",
      });
    },
  });
  [server, offline] = await Promise.all([
    startAuditor({
      env: {
        AUDITOR_TEE: "dev",
        OPENROUTER_API_KEY: "sk-or-p4",
        ANTHROPIC_API_KEY: "sk-ant-p4",
        OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
        ANTHROPIC_BASE_URL: llm.anthropicBaseUrl,
        FIRESTORE_EMULATOR_HOST: `127.0.0.1:${firestoreServer.port}`,
        AUDITOR_RATE_LIMIT_PER_MIN: "100000",
      },
    }),
    startAuditor({ env: { AUDITOR_TEE: "dev" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), offline?.stop()]);
  firestoreServer?.stop(true);
  llm?.close();
});

async function invoke(target: AuditorProcess, fn: string, body: unknown) {
  const res = await fetch(`${target.url}/invoke/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
const lastRequest = () => JSON.parse(llm.requests.at(-1)!.body);

describe("fix-shader", () => {
  test("a corrected shader from the model, checked, with the error log in the request", async () => {
    llm.reset();
    llm.script("openrouter", {
      kind: "ok",
      text: `Here you go:\n<shader>\n\`\`\`glsl\n${FIXED}\n\`\`\`\n</shader>`,
    });
    const { status, body } = await invoke(server, "fix-shader", {
      shader: BROKEN,
      error_log: "ERROR: 0:3: 'gl_FragColor' : syntax error",
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ shader: FIXED, provider_used: "cerebras" });
    expect(lastRequest().messages[1].content).toContain("syntax error");
    expect(lastRequest().max_tokens).toBe(4000);
  });

  test("an answer that is not one fragment shader is refused (502), never passed to the renderer", async () => {
    llm.reset();
    llm.script("openrouter", {
      kind: "ok",
      text: "<shader>attribute vec3 p; void main() { gl_Position = vec4(p, 1.0); }</shader>",
    });
    const { status, body } = await invoke(server, "fix-shader", { shader: BROKEN });
    expect(status).toBe(502);
    expect(body).toMatchObject({ error: "invalid_shader" });
    expect(body.message).toContain("vertex shader");
  });

  test("Cerebras failing three times falls back to Claude; all failing is the seed's 500", async () => {
    llm.reset();
    llm.script(
      "openrouter",
      { kind: "status", status: 500 },
      { kind: "garbage" },
      { kind: "ok", text: "no tags at all" },
    );
    llm.script("anthropic", { kind: "ok", text: `<shader>${FIXED}</shader>` });
    expect(await invoke(server, "fix-shader", { shader: BROKEN })).toMatchObject({
      status: 200,
      body: { provider_used: "claude-fallback" },
    });
    llm.script(
      "openrouter",
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
    );
    llm.script("anthropic", { kind: "status", status: 529 });
    expect(await invoke(server, "fix-shader", { shader: BROKEN })).toEqual({
      status: 500,
      body: { error: "All LLM providers failed" },
    });
  });

  test("input limits name the field; without keys, local fixes", async () => {
    const big = await invoke(server, "fix-shader", { shader: "x".repeat(MAX_SHADER_BYTES + 1) });
    expect(big.status).toBe(400);
    expect(big.body.message).toContain("shader");
    const local = await invoke(offline, "fix-shader", {
      shader: BROKEN.replace("vec3(1.0, 0.2, 0.6)", "vec3(1.0, 0.2, 0.6);"),
      error_log: "no default precision specified for float",
    });
    expect(local).toMatchObject({
      status: 200,
      body: { provider_used: "local", notes: "added a default float precision" },
    });
    expect(local.body.shader.startsWith("precision mediump float;")).toBe(true);
  });

  test("the fragment-shader check", () => {
    expect(checkFragmentShader(FIXED).ok).toBe(true);
    expect(
      checkFragmentShader(
        "#version 300 es\nprecision highp float;\nout vec4 o;\nvoid main() { o = vec4(1.0); }",
      ).ok,
    ).toBe(true);
    for (const [bad, why] of [
      [FIXED + "\nvoid main() {}", "exactly one main"],
      ["void main() { float x = 1.0; }", "fragment colour"],
      ["#include <x>\n" + FIXED, "#include"],
      [FIXED.replace("}", ""), "unbalanced"],
      ["x".repeat(MAX_SHADER_BYTES + 1), "longer than"],
    ] as const) {
      const result = checkFragmentShader(bad);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toContain(why);
    }
  });
});

describe("dj", () => {
  const cue = {
    tempo_bpm: 124,
    key: "A minor",
    mood_tags: ["neon", "driving"],
    prompt: "driving synthwave with arpeggios",
  };

  test("a structured cue; the previous cue goes into the next request (sealed continuity)", async () => {
    llm.reset();
    llm.script(
      "openrouter",
      { kind: "ok", text: `<cue>${JSON.stringify(cue)}</cue>` },
      { kind: "ok", text: `<cue>${JSON.stringify({ ...cue, tempo_bpm: 128 })}</cue>` },
    );
    expect(
      await invoke(server, "dj", {
        session_id: sid("dj-1"),
        transcript: "the city lights are racing",
        mood: "energetic",
      }),
    ).toMatchObject({ status: 200, body: { cue, provider_used: "cerebras" } });
    expect(
      (await invoke(server, "dj", { session_id: sid("dj-1"), transcript: "faster", mood: "" })).body
        .cue.tempo_bpm,
    ).toBe(128);
    expect(lastRequest().messages[1].content).toContain('"tempo_bpm":124');
  });

  test("an answer outside the cue schema counts as a failed attempt and the chain moves on", async () => {
    llm.reset();
    llm.script(
      "openrouter",
      { kind: "ok", text: `<cue>${JSON.stringify({ ...cue, tempo_bpm: 999 })}</cue>` },
      { kind: "ok", text: "<cue>not json</cue>" },
      { kind: "ok", text: `<cue>${JSON.stringify({ ...cue, key: "H major" })}</cue>` },
    );
    llm.script("anthropic", { kind: "ok", text: `<cue>${JSON.stringify(cue)}</cue>` });
    expect(await invoke(server, "dj", { session_id: sid("dj-2"), transcript: "x" })).toMatchObject({
      status: 200,
      body: { provider_used: "claude-fallback", cue },
    });
  });

  test("without keys, the local DJ answers within the schema", async () => {
    const { status, body } = await invoke(offline, "dj", {
      session_id: sid("dj-local"),
      transcript: "rain on a tin roof",
      mood: "calm",
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ provider_used: "local", cue: { tempo_bpm: 84 } });
    expect(body.cue.key).toEndWith("minor");
  });
});

describe("youtube-metadata", () => {
  test("from the session's stored prompts, fitted to YouTube's limits", async () => {
    llm.reset();
    await invoke(server, "generate-prompt", {
      session_id: sid("yt-1"),
      transcript: "a glass forest",
    });
    const meta = {
      title: `<b>${"Glass forest ".repeat(20)}</b>`,
      description: "A set.\n".repeat(1000),
      tags: ["vj", "glass forest", ...Array.from({ length: 100 }, (_, i) => `tag number ${i}`)],
    };
    llm.script("openrouter", { kind: "ok", text: `<meta>${JSON.stringify(meta)}</meta>` });
    const { status, body } = await invoke(server, "youtube-metadata", { session_id: sid("yt-1") });
    expect(status).toBe(200);
    expect(lastRequest().messages[1].content).toContain("1. prompt 1");
    expect(body.title.length).toBeLessThanOrEqual(100);
    expect(body.title).not.toMatch(/[<>]/);
    expect(new TextEncoder().encode(body.description).length).toBeLessThanOrEqual(5000);
    const tagChars = body.tags.reduce(
      (n: number, t: string, i: number) => n + t.length + (t.includes(" ") ? 2 : 0) + (i ? 1 : 0),
      0,
    );
    expect(tagChars).toBeLessThanOrEqual(500);
  });

  test("a session with no prompts is a clear 409; prompts can also be sent; offline works", async () => {
    expect(
      await invoke(server, "youtube-metadata", { session_id: sid("never-used") }),
    ).toMatchObject({ status: 409, body: { error: "no_prompts" } });
    const local = await invoke(offline, "youtube-metadata", {
      session_id: sid("x"),
      prompts: ["a neon jellyfish over a drowned city", "jellyfish in the rain"],
    });
    expect(local).toMatchObject({ status: 200, body: { provider_used: "local" } });
    expect(local.body.title).toContain("a neon jellyfish over a drowned city");
    expect(local.body.tags).toContain("jellyfish");
  });

  test("fitToYouTube keeps everything within the rules", () => {
    const fitted = fitToYouTube({
      title: "   ",
      description: "é".repeat(4000),
      tags: ["a,b", '"q"', "dup", "dup"],
    });
    expect(fitted.title).toBe("ETHEREA live visuals");
    expect(new TextEncoder().encode(fitted.description).length).toBeLessThanOrEqual(5000);
    expect(fitted.tags).toEqual(["ab", "q", "dup"]);
  });
});

describe("the report and the Firestore analytics sink", () => {
  test("all four functions are in /report/etherea with their egress; the emulator override is stated", async () => {
    const report = await (await fetch(`${server.url}/report/etherea`)).json();
    expect(report.functions.map((f: { name: string }) => f.name)).toEqual([
      "generate-prompt",
      "fix-shader",
      "dj",
      "youtube-metadata",
    ]);
    const firestoreEgress = report.functions[0].egress.find(
      (e: { name: string }) => e.name === "firestore",
    );
    expect(firestoreEgress).toMatchObject({
      overriddenBy: "FIRESTORE_EMULATOR_HOST",
      host: `127.0.0.1:${firestoreServer.port}`,
    });
    expect(report.functions[0].secrets).toContain("FIRESTORE_SERVICE_ACCOUNT");
  });

  test("each generated prompt is written to Firestore before the answer; a failing Firestore never fails the prompt", async () => {
    llm.reset();
    firestore.length = 0;
    const ok = await invoke(server, "generate-prompt", {
      session_id: sid("fs-1"),
      transcript: "amber cathedral",
      style_tags: "artist:turrell",
    });
    expect(ok.status).toBe(200);
    for (let i = 0; i < 100 && firestore.length === 0; i++) await Bun.sleep(10);
    expect(firestore[0]!.path).toBe(
      "/v1/projects/demo-etherea/databases/(default)/documents/prompts",
    );
    expect(firestore[0]!.auth).toBe("Bearer owner");
    expect(firestore[0]!.body.fields).toMatchObject({
      session_id: { stringValue: sid("fs-1") },
      transcript: { stringValue: "amber cathedral" },
      prompt: { stringValue: ok.body.prompt },
      style_tags: { stringValue: "artist:turrell" },
      provider: { stringValue: "cerebras" },
    });
    firestoreFails = true;
    try {
      expect(
        (await invoke(server, "generate-prompt", { session_id: sid("fs-2"), transcript: "x" }))
          .status,
      ).toBe(200);
    } finally {
      firestoreFails = false;
    }
    const log = (await (await fetch(`${server.url}/report/etherea`)).json()).egressLog.recent;
    expect(
      log.some(
        (e: { fn: string; host: string }) =>
          e.fn === "generate-prompt" && e.host === `127.0.0.1:${firestoreServer.port}`,
      ),
    ).toBe(true);
  });

  test("not configured, nothing is written and nothing leaves for Firestore", async () => {
    await invoke(offline, "generate-prompt", { session_id: sid("fs-off"), transcript: "x" });
    const report = await (await fetch(`${offline.url}/report/etherea`)).json();
    expect(report.observedEgress).toEqual([]);
  });
});
