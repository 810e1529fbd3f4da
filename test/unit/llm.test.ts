import { describe, expect, test } from "bun:test";
import { pythonJsonDumps } from "../../functions/lib/python-json.ts";
import { extractPrompt } from "../../functions/lib/llm.ts";
import {
  buildSystemPrompt,
  buildUserMessage,
  rotatePrompts,
} from "../../functions/generate-prompt.ts";

describe("pythonJsonDumps", () => {
  test("matches Python's json.dumps byte for byte (goldens printed by CPython 3.11)", () => {
    expect(
      pythonJsonDumps({
        a: [1, 2.5, 0.7, true, false, null],
        s: 'quote" back\\ nl\n tab\t ctl\x01 del\x7f é 😀 \u2028',
        n: { k: -3 },
      }),
    ).toBe(
      '{"a": [1, 2.5, 0.7, true, false, null], "s": "quote\\" back\\\\ nl\\n tab\\t ctl\\u0001 del\\u007f \\u00e9 \\ud83d\\ude00 \\u2028", "n": {"k": -3}}',
    );
    expect(pythonJsonDumps({ model: "m", temperature: 0.7, max_tokens: 300 })).toBe(
      '{"model": "m", "temperature": 0.7, "max_tokens": 300}',
    );
  });

  test("refuses what Python's json would refuse by default", () => {
    expect(() => pythonJsonDumps({ x: NaN })).toThrow("non-finite");
  });
});

describe("generate-prompt text (seed, byte for byte)", () => {
  test("<prompt> extraction takes the first tagged block, trimmed, across lines", () => {
    expect(
      extractPrompt("thinking...<prompt>\n a neon whale \n</prompt> <prompt>second</prompt>"),
    ).toBe("a neon whale");
    expect(extractPrompt("no tags here")).toBe("no tags here");
    expect(extractPrompt("<PROMPT>case</PROMPT>")).toBe("<PROMPT>case</PROMPT>");
  });

  test("system prompt sections appear only when their input is there, in seed order", () => {
    const bare = buildSystemPrompt("", ["", "", "", "", ""], null);
    expect(bare.endsWith("Keep prompts under 300 characters. No emojis.")).toBe(true);
    expect(bare).not.toContain("===");
    const full = buildSystemPrompt("artist:monet", ["prev A", "prev B", "", "", ""], "jump");
    expect(full.slice(bare.length)).toBe(
      "\n\n=== STYLE CONTEXT (HIGH PRIORITY) ===\nartist:monet\n\nThese style elements should DOMINATE the visual output." +
        "\n\n=== RECENT PROMPT (for continuity) ===\nprev A\n\nBuild iteratively on this scene. Evolve, don't repeat." +
        "\n\n=== VJ INSTRUCTION ===\nMake a significant visual shift. New scene.",
    );
    expect(buildSystemPrompt("", ["", ""], "evolve")).toEndWith(
      "=== VJ INSTRUCTION ===\nGradually evolve the current scene. Subtle changes.",
    );
    expect(buildSystemPrompt("", ["", ""], "remix")).toEndWith(
      "=== VJ INSTRUCTION ===\nKeep the subject but dramatically change the style.",
    );
  });

  test("user message uses the 3 newest non-empty prompts, newest first", () => {
    expect(buildUserMessage("hello", ["p1", "", "p3", "p4", "p5"])).toBe(
      "Recent prompts for context:\np1\np3\n\nNew transcript to respond to:\nhello\n\nGenerate a new prompt that builds on the scene.",
    );
    expect(buildUserMessage("hello", ["", "", "", "", ""])).toBe(
      "Transcript:\nhello\n\nGenerate a Stable Diffusion prompt for this scene.",
    );
  });

  test("rotation keeps 5, newest first", () => {
    let recent = ["", "", "", "", ""];
    for (let i = 1; i <= 6; i++) recent = rotatePrompts(recent, `p${i}`);
    expect(recent).toEqual(["p6", "p5", "p4", "p3", "p2"]);
  });
});
