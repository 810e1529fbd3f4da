// Sealed invokes over real HTTP, from a client written only from the spec: the function runs,
// the response is sealed with the function's own status, and every refusal is plain JSON.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { sealInvoke } from "../helpers/spec-client.ts";
import { sid } from "../helpers/session-id.ts";

let llm: FakeLlm;
let server: AuditorProcess;
let invokeKey: string;
let kid: string;
const TRANSCRIPT = "a lighthouse made of violins";

beforeAll(async () => {
  llm = startFakeLlm();
  server = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      OPENROUTER_API_KEY: "sk-or-test",
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
    },
  });
  const { statement } = await (await fetch(`${server.url}/attestation`)).json();
  invokeKey = statement.invokeKey;
  kid = statement.kid;
});
afterAll(async () => {
  await server?.stop();
  llm?.close();
});

const INPUT = {
  session_id: sid("sealed-1"),
  transcript: TRANSCRIPT,
  style_tags: "",
  vj_instruction: null,
};
/** The three other unpadded base64url texts that lenient decoders read as the same bytes. */
function otherSpellings(text: string): string[] {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(text.at(-1)!);
  const spare = (text.length * 6) % 8; // 2 or 4 spare bits, or none
  const count = 2 ** spare;
  return Array.from(
    { length: count },
    (_, i) => text.slice(0, -1) + alphabet[(last & ~(count - 1)) | i],
  ).filter((t) => t !== text);
}

async function expectRefusedBeforeRunning(body: unknown, field: string) {
  const before = llm.requests.length;
  const res = await post(body);
  expect(res.status).toBe(400);
  const answer = await res.json();
  expect(answer).toMatchObject({ error: "invalid_request" });
  expect(answer.message).toStartWith(`${field}:`);
  expect(llm.requests.length).toBe(before);
}

const post = (body: unknown, fn = "generate-prompt") =>
  fetch(`${server.url}/invoke/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/auditor-sealed+json" },
    body: JSON.stringify(body),
  });

describe("sealed invoke", () => {
  test("the function runs; the response is sealed, keeps its status, and opens to what an unsealed call returns", async () => {
    llm.reset();
    const sealed = await sealInvoke("generate-prompt", INPUT, invokeKey, kid);
    const res = await post(sealed.body);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("prompt 1");
    const envelope = JSON.parse(text);
    expect(Object.keys(envelope).sort()).toEqual(["ct", "rct", "v"]);
    expect(await sealed.open(envelope.ct)).toMatchObject({
      prompt: "prompt 1",
      provider_used: "cerebras",
    });
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

  test("every other spelling of a captured request's epk is refused before the function runs; only the original opens", async () => {
    llm.reset();
    const sealed = await sealInvoke(
      "generate-prompt",
      { ...INPUT, session_id: sid("sealed-spellings") },
      invokeKey,
      kid,
    );
    const others = otherSpellings(sealed.body.epk);
    expect(others).toHaveLength(3);
    // Before and after the original is spent: the refusal is about the text, not about replay.
    for (const epk of others) await expectRefusedBeforeRunning({ ...sealed.body, epk }, "epk");
    const first = await post(sealed.body);
    expect(first.status).toBe(200);
    expect(await sealed.open((await first.json()).ct)).toMatchObject({ prompt: "prompt 1" });
    for (const epk of others) await expectRefusedBeforeRunning({ ...sealed.body, epk }, "epk");
    expect((await post(sealed.body)).status).toBe(409);
    expect(llm.requests).toHaveLength(1);
  });

  test("a ct with non-zero spare bits is refused as invalid_request", async () => {
    // A ct whose length is not a multiple of 3 has spare bits in its last character.
    let sealed;
    for (let pad = 0; !sealed || (sealed.body.ct.length * 6) % 8 === 0; pad++) {
      sealed = await sealInvoke(
        "generate-prompt",
        { ...INPUT, transcript: TRANSCRIPT + " ".repeat(pad) },
        invokeKey,
        kid,
      );
    }
    for (const ct of otherSpellings(sealed.body.ct))
      await expectRefusedBeforeRunning({ ...sealed.body, ct }, "ct");
  });

  test("no response key and nonce is ever used twice: 20 concurrent replays in four spellings get one sealed answer", async () => {
    llm.reset();
    const sealed = await sealInvoke(
      "generate-prompt",
      { ...INPUT, session_id: sid("sealed-concurrent") },
      invokeKey,
      kid,
    );
    const spellings = [sealed.body.epk, ...otherSpellings(sealed.body.epk)];
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post({ ...sealed.body, epk: spellings[i % 4] })),
    );
    const bodies = await Promise.all(responses.map((r) => r.json()));
    // Every sealed answer for this epk is under the same response key and the zero nonce, so
    // there must be exactly one, however the key is spelled and however the requests race.
    const sealedAnswers = bodies.filter((b) => typeof b.ct === "string");
    expect(sealedAnswers).toHaveLength(1);
    expect(await sealed.open(sealedAnswers[0].ct)).toMatchObject({ provider_used: "cerebras" });
    expect(bodies.filter((b) => b.error === "replayed")).toHaveLength(4);
    expect(bodies.filter((b) => b.error === "invalid_request")).toHaveLength(15);
    expect(llm.requests).toHaveLength(1);
  });

  test("timestamps more than 60 s off either way are refused", async () => {
    for (const skew of [-61_000, 61_000]) {
      const res = await post(
        (await sealInvoke("generate-prompt", INPUT, invokeKey, kid, Date.now() + skew)).body,
      );
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
      [
        { ...good, ct: good.ct.slice(0, -4) + (good.ct.endsWith("AAAA") ? "BBBB" : "AAAA") },
        400,
        "decrypt_failed",
      ],
    ];
    for (const [body, status, error] of cases) {
      const res = await post(body);
      expect(res.status).toBe(status);
      expect((await res.json()).error).toBe(error);
    }
    // Sealed for one function, sent to another name: the transcript differs, so it cannot open.
    const misrouted = await post(
      (await sealInvoke("generate-prompt", INPUT, invokeKey, kid)).body,
      "other-fn",
    );
    expect(misrouted.status).toBe(400);
    expect((await misrouted.json()).error).toBe("decrypt_failed");
  });

  test("a content type that is neither JSON nor sealed is 415 naming both", async () => {
    const res = await fetch(`${server.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    expect(res.status).toBe(415);
    expect((await res.json()).message).toContain("application/auditor-sealed+json");
  });
});
