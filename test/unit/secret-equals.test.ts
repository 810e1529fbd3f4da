// Secret comparison compares fixed-length digests, so neither the content nor the length of the
// stored secret shows in how the comparison runs; and every secret comparison in src/ uses it.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { secretEquals } from "../../src/crypto/secret-equals.ts";

const SRC = join(import.meta.dir, "../../src");
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );

describe("secretEquals", () => {
  test("equal secrets match; a different one of any length, or a prefix, does not", () => {
    const key = "sk-live-0123456789abcdef";
    expect(secretEquals(key, key)).toBe(true);
    for (const other of [
      "",
      "s",
      key.slice(0, -1),
      `${key}x`,
      key.toUpperCase(),
      "x".repeat(10_000),
    ])
      expect(secretEquals(other, key)).toBe(false);
    expect(secretEquals("", "")).toBe(true);
  });

  test("API keys and session tokens are compared through it, never as strings or raw bytes", () => {
    const routes = readFileSync(join(SRC, "http/routes/sessions.ts"), "utf8");
    // Session tokens: SessionAccess checks every token-authorized request.
    const access = readFileSync(join(SRC, "http/session-control.ts"), "utf8");
    expect(access).toMatch(/secretEquals\(token, session\.token\)/);
    // API keys and operator keys: keyAccepted compares against every configured key.
    expect(readFileSync(join(SRC, "http/bearer.ts"), "utf8")).toMatch(
      /secretEquals\(key, candidate\)/,
    );
    expect(routes).toMatch(/keyAccepted\(/);
    for (const file of sourceFiles(SRC)) {
      const text = readFileSync(file, "utf8");
      // A byte-wise compare of two utf8 texts leaks the secret's length.
      expect({ file, raw: /bytesEqual\(\s*utf8\(/.test(text) }).toEqual({ file, raw: false });
      expect({
        file,
        tokenCompare: /(token|apiKey|key)\s*[!=]==\s*(session\.token|candidate)/.test(text),
      }).toEqual({ file, tokenCompare: false });
    }
  });
});
