// The offline prompt composer (no LLM key): the seed's VJ moves in spirit, varied between calls,
// the same for the same session and call.
import { describe, expect, test } from "bun:test";
import {
  composeLocalPrompt,
  sceneOf,
  sceneWords,
  type LocalPromptInput,
} from "../../functions/lib/local-prompt.ts";

const base: LocalPromptInput = {
  sessionId: "6f1c0e4e-3a57-4d0e-9f7c-1a2b3c4d5e6f",
  transcript: "",
  styleTags: "",
  recentPrompts: ["", "", "", "", ""],
  vj: null,
};
const compose = (over: Partial<LocalPromptInput>) => composeLocalPrompt({ ...base, ...over });
const after = (previous: string, over: Partial<LocalPromptInput> = {}) =>
  compose({ recentPrompts: [previous, "", "", "", ""], ...over });

describe("the local prompt composer", () => {
  test("no instruction: the scene is the transcript's words, the style tags stay", () => {
    const prompt = compose({
      transcript: "a neon jellyfish, drifting over a flooded cathedral",
      styleTags: "artist:moebius",
    });
    expect(sceneOf(prompt)).toBe("a neon jellyfish drifting over a flooded cathedral");
    expect(prompt).toContain("artist:moebius");
    // Nothing said yet: the previous scene carries on.
    expect(sceneOf(after("a paper moon over a lake, moonlit glow", { transcript: "" }))).toBe(
      "a paper moon over a lake",
    );
  });

  test("evolve keeps the previous scene and changes its details", () => {
    const previous = compose({ transcript: "a glass forest at dawn" });
    const evolved = after(previous, { vj: "evolve", transcript: "a glass forest at dawn, birds" });
    expect(sceneOf(evolved)).toBe(sceneOf(previous));
    expect(evolved).not.toBe(previous);
  });

  test("jump leaves the previous scene: none of its words come back", () => {
    const previous = compose({ transcript: "a glass forest at dawn with glowing mushrooms" });
    const jumped = after(previous, {
      vj: "jump",
      transcript: "a glass forest at dawn with glowing mushrooms",
    });
    for (const word of sceneWords(sceneOf(previous)))
      expect(sceneWords(jumped)).not.toContain(word);
  });

  test("remix keeps the subject and changes the style; twice in a row differs each time", () => {
    const previous = compose({ transcript: "a lighthouse in a storm" });
    const once = after(previous, { vj: "remix" });
    const twice = compose({ vj: "remix", recentPrompts: [once, previous, "", "", ""] });
    expect(sceneOf(once)).toBe("a lighthouse in a storm");
    expect(sceneOf(twice)).toBe("a lighthouse in a storm");
    expect(new Set([previous, once, twice]).size).toBe(3);
  });

  test("the same session and call give the same prompt; another session another", () => {
    const input = {
      transcript: "rain over a neon harbour",
      recentPrompts: ["an earlier prompt", "", "", "", ""],
    };
    expect(compose(input)).toBe(compose(input));
    const others = new Set(
      ["a", "b", "c", "d", "e"].map((s) =>
        compose({ ...input, sessionId: `session-${s}-0123456789abcdef` }),
      ),
    );
    expect(others.size).toBeGreaterThan(1);
  });

  test("at most 300 characters, whatever the inputs", () => {
    for (const vj of [null, "evolve", "jump", "remix"] as const) {
      const prompt = compose({
        vj,
        transcript: "wordy ".repeat(500),
        styleTags: "style ".repeat(100),
        recentPrompts: ["x".repeat(400), "", "", "", ""],
      });
      expect(prompt.length).toBeLessThanOrEqual(300);
      expect(prompt).not.toMatch(/[\s,]$/);
    }
  });
});
