// Bundling for the browser at bundle time, shared by the macros that embed the SDK and the VJ
// page: the bundler CLI of this same bun (Bun.build would deadlock inside a macro), minified ESM,
// output read back and the temp dir removed.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";

/** First 16 hex of SHA-256: enough for content-hashed file names. */
export const shortHash = (text: string) =>
  new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 16);

/**
 * Bundles `entry`; with `sourcemap`, also its external map, whose source paths are made
 * relative to the repository so the bytes do not depend on where it is checked out.
 */
export function buildForBrowser(
  entry: string,
  what: string,
  sourcemap = false,
): { code: string; map?: string } {
  const out = mkdtempSync(join(tmpdir(), "auditor-browser-"));
  try {
    const args = [
      process.execPath,
      "build",
      entry,
      "--target=browser",
      "--format=esm",
      "--minify",
      ...(sourcemap ? ["--sourcemap=external"] : []),
      `--outdir=${out}`,
    ];
    const build = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0)
      throw new Error(`${what} failed to build:\n${build.stderr.toString()}`);
    const file = join(out, basename(entry).replace(/\.ts$/, ".js"));
    const code = readFileSync(file, "utf8");
    if (!sourcemap) return { code };
    const map = JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[] };
    const root = resolve(import.meta.dir, "../..");
    map.sources = map.sources.map((source) => relative(root, resolve(out, source)));
    return { code, map: JSON.stringify(map) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
