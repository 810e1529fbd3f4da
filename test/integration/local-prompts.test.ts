// generate-prompt without any LLM key, over real HTTP: the offline composer follows the VJ moves
// a session asks for, varies from call to call, and repeats exactly on a fresh data dir.
import { afterAll, describe, expect, test } from "bun:test";
import { sceneOf, sceneWords } from "../../functions/lib/local-prompt.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";

const started: AuditorProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

const SESSION = "b7e1d2c3-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
const TRANSCRIPT = "a neon jellyfish drifting over a flooded cathedral at sunset";
const MOVES = [null, "evolve", "evolve", "remix", "remix", "jump", "jump", null] as const;

/** One session through every move, on a server with its own fresh data dir. */
async function playSet(): Promise<string[]> {
  const server = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
  started.push(server);
  const prompts: string[] = [];
  for (const vj of MOVES) {
    const res = await fetch(`${server.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        session_id: SESSION,
        transcript: TRANSCRIPT,
        style_tags: "artist:moebius",
        vj_instruction: vj,
      }),
    });
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body.provider_used).toBe("local");
    prompts.push(body.prompt);
  }
  return prompts;
}

describe("offline prompts (no LLM key)", () => {
  test("evolve keeps the scene, remix the subject, jump leaves it; repeated on a fresh data dir", async () => {
    const set = await playSet();
    const [first, evolve1, evolve2, remix1, remix2, jump1, jump2, last] = set;
    expect(sceneOf(first!)).toBe(TRANSCRIPT);
    for (const evolved of [evolve1!, evolve2!]) expect(sceneOf(evolved)).toBe(TRANSCRIPT);
    expect(new Set([first, evolve1, evolve2]).size).toBe(3); // the details moved each time
    for (const remixed of [remix1!, remix2!]) expect(sceneOf(remixed)).toBe(TRANSCRIPT);
    expect(remix2).not.toBe(remix1);
    for (const word of sceneWords(TRANSCRIPT)) expect(sceneWords(jump1!)).not.toContain(word);
    for (const word of sceneWords(sceneOf(jump1!))) expect(sceneWords(jump2!)).not.toContain(word);
    expect(sceneOf(last!)).toBe(TRANSCRIPT); // no instruction: back to what the room says
    for (const prompt of [first, evolve1, remix1, jump1])
      expect(prompt).toContain("artist:moebius");

    expect(await playSet()).toEqual(set);
  });
});
