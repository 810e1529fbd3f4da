// A Bun macro: runs at bundle time and inlines a function's source text, so the compiled binary
// carries (and reports the digest of) exactly the source it was built from.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export function functionSource(path: string): string {
  return readFileSync(join(import.meta.dir, "../../functions", path), "utf8");
}
