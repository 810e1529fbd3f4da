// Static side of "one value, one spelling": every base64 text in src/, sdk/ and functions/ is
// decoded by the strict decoders of sdk/crypto/encoding.ts (or checked by its zod schema), never
// by a lenient one (Buffer, atob, the native Uint8Array.fromBase64) nor accepted by an alphabet
// regex, which lets non-canonical spellings through. Identifiers (ref ids, channel ids) use
// bounded alphabets and are compared as text, never decoded.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const DECODERS = "sdk/crypto/encoding.ts";

const LENIENT: [string, RegExp][] = [
  ["Buffer base64 decode", /Buffer\.from\([^)]*["']base64(url)?["']/],
  ["atob", /\batob\(/],
  ["native Uint8Array.fromBase64", /Uint8Array\.fromBase64/],
  ["unbounded base64 alphabet regex", /\[A-Za-z0-9(_-|\+\/)\]\s*[+*]/],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("base64 is decoded only by the strict decoders", () => {
  test("no lenient decoder or alphabet regex outside sdk/crypto/encoding.ts", () => {
    const files = ["src", "sdk", "functions"].flatMap((dir) => sourceFiles(join(ROOT, dir)));
    const found = files
      .map((file) => relative(ROOT, file))
      .filter((file) => file !== DECODERS)
      .flatMap((file) => {
        const text = readFileSync(join(ROOT, file), "utf8");
        return LENIENT.filter(([, pattern]) => pattern.test(text)).map(
          ([name]) => `${file}: ${name}`,
        );
      });
    expect(found).toEqual([]);
  });

  test("the patterns catch what they are for", () => {
    const samples: [string, string][] = [
      ['Buffer.from(s, "base64")', "Buffer base64 decode"],
      ["Buffer.from(s, 'base64url')", "Buffer base64 decode"],
      ["atob(s)", "atob"],
      ["Uint8Array.fromBase64(s)", "native Uint8Array.fromBase64"],
      ["z.string().regex(/^[A-Za-z0-9_-]+$/)", "unbounded base64 alphabet regex"],
      ["/^[A-Za-z0-9+/]*={0,2}$/", "unbounded base64 alphabet regex"],
    ];
    for (const [sample, name] of samples) {
      expect({ sample, hit: LENIENT.find(([n]) => n === name)![1].test(sample) }).toEqual({
        sample,
        hit: true,
      });
    }
    expect(LENIENT.some(([, p]) => p.test("/^ref_[A-Za-z0-9_-]{1,64}$/"))).toBe(false);
  });
});
