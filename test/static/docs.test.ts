// The documents a newcomer follows: the design document lives in the repository (a verbatim
// copy that cannot drift from the lead's original while that sits beside the checkout), and
// every relative link in README.md and docs/ resolves to a file inside the repository.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = join(import.meta.dir, "../..");
const ORIGINAL_DESIGN = join(root, "../shared/DESIGN.md");
const documents = ["README.md", ...readdirSync(join(root, "docs")).map((f) => `docs/${f}`)];

describe("documentation", () => {
  test.skipIf(!existsSync(ORIGINAL_DESIGN))(
    "docs/design.md is ../shared/DESIGN.md, byte for byte",
    () => {
      expect(readFileSync(join(root, "docs/design.md"), "utf8")).toBe(
        readFileSync(ORIGINAL_DESIGN, "utf8"),
      );
    },
  );

  test("README points to the design document inside the repository", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(readme).toContain("](docs/design.md)");
    expect(readme).not.toContain("../shared");
  });

  test("every relative link in README.md and docs/ names a file in the repository", () => {
    for (const doc of documents) {
      const text = readFileSync(join(root, doc), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!) || target!.startsWith("#")) continue;
        const path = resolve(root, dirname(doc), target!.split("#")[0]!);
        expect({ doc, target, inside: !relative(root, path).startsWith("..") }).toEqual({
          doc,
          target,
          inside: true,
        });
        expect({ doc, target, exists: existsSync(path) }).toEqual({ doc, target, exists: true });
      }
    }
  });
});
