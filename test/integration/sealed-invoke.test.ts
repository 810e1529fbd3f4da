// Sealed invokes over real HTTP, from a client written only from the spec: the function runs,
// the response is sealed with the function's own status, and every refusal is plain JSON.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { sealInvoke } from "../helpers/spec-client.ts";

let llm: FakeLlm;
let server: AuditorProcess;
let invokeKey: string;
let kid: string;
const TRANSCRIPT = "a lighthouse made of violins";

beforeAll(async () => {
  llm = startFakeLlm();
  server = await startAuditor({ env: { AUDITOR_TEE: "dev", OPENROUTER_API_KEY: "sk-or-test", OPENROUTER_BASE_URL: llm.openrouterBaseUrl } });
  const { statement } = await (await fetch(`${server.url}/attestation`)).json();
  invokeKey = statement.invokeKey;
  kid = statement.kid;
});
afterAll(async () => {
  await server?.stop();
  llm?.close();
});

const INPUT = { session_id: "sealed-1", transcript: TRANSCRIPT, style_tags: "", vj_instruction: null };
const post = (body: unknown, fn = "generate-prompt") =>
  fetch(`${server.url}/invoke/${fn}`, { method: "POST", headers: { "content-type": "application/auditor-sealed+json" }, body: JSON.stringify(body) });

describe("sealed invoke", () => {
  test("the function runs; the response is sealed, keeps its status, and opens to what an unsealed call returns", async () => {
    llm.reset();
    const sealed = await sealInvoke("generate-prompt", INPUT, invokeKey, kid);
    const res = await post(sealed.body);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("prompt 1");
    const envelope = JSON.parse(text);
    expect(Object.keys(envelope).sort()).toEqual(["ct", "v"]);
    expect(await sealed.open(envelope.ct)).toMatchObject({ prompt: "prompt 1", provider_used: "cerebras" });
    expect(llm.requests[0]!.body).toContain(TRANSCRIPT);
  });

  test("invalid input: the function's 400 and body, sealed", async () => {
    const sealed = await sealInvoke("generate-prompt", { transcript: 5 }, invokeKey, kid);
    const res = await post(sealed.body);
    expect(res.status).toBe(400);
    expect(await sealed.open((await res.json()).ct)).toMatchObject({ error: "invalid_input" });
  });

  test("a replay gets a plain 409, never a second sealed response", async () => {
    const sealed = await sealInvoke("generate-prompt", INPUT, invokeKey, kid);
    expect((await post(sealed.body)).status).toBe(200);
    const replay = await post(sealed.body);
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ error: "replayed" });
  });

  test("timestamps more than 60 s off either way are refused", async () => {
    for (const skew of [-61_000, 61_000]) {
      const res = await post((await sealInvoke("generate-prompt", INPUT, invokeKey, kid, Date.now() + skew)).body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "stale_request" });
    }
  });

  test("failures before decryption are plain 4xx naming the problem", async () => {
    const good = (await sealInvoke("generate-prompt", INPUT, invokeKey, kid)).body;
    const cases: [unknown, number, string][] = [
      [{ ...good, kid: "AAAAAAAAAAAAAAAA" }, 400, "unknown_kid"],
      [{ ...good, epk: "AAAA" }, 400, "invalid_request"],
      [{ ...good, v: 2 }, 400, "invalid_request"],
      [{ ...good, extra: 1 }, 400, "invalid_request"],
      [{ ...good, ct: good.ct.slice(0, -4) + (good.ct.endsWith("AAAA") ? "BBBB" : "AAAA") }, 400, "decrypt_failed"],
    ];
    for (const [body, status, error] of cases) {
      const res = await post(body);
      expect(res.status).toBe(status);
      expect((await res.json()).error).toBe(error);
    }
    // Sealed for one function, sent to another name: the transcript differs, so it cannot open.
    const misrouted = await post((await sealInvoke("generate-prompt", INPUT, invokeKey, kid)).body, "other-fn");
    expect(misrouted.status).toBe(400);
    expect((await misrouted.json()).error).toBe("decrypt_failed");
  });

  test("a content type that is neither JSON nor sealed is 415 naming both", async () => {
    const res = await fetch(`${server.url}/invoke/generate-prompt`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
    expect(res.status).toBe(415);
    expect((await res.json()).message).toContain("application/auditor-sealed+json");
  });
});
