// A Bun macro: builds the browser SDK (sdk/client) at bundle time and inlines it, so the binary
// serves exactly the SDK it was built with (and a server run from source, the current one).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

export interface SdkBundle {
  /** Minified ESM, ending with its sourceMappingURL comment. */
  js: string;
  map: string;
  /** First 16 hex of SHA-256 over the code, for the immutable file name. */
  hash: string;
}

export function sdkBundle(): SdkBundle {
  // Bun.build would deadlock inside a macro: run the bundler CLI (this same bun) instead.
  const out = mkdtempSync(join(tmpdir(), "auditor-sdk-"));
  try {
    const build = Bun.spawnSync([process.execPath, "build", join(import.meta.dir, "../../sdk/client/index.ts"), "--target=browser", "--format=esm", "--minify", "--sourcemap=external", `--outdir=${out}`], { stderr: "pipe", stdout: "pipe" });
    if (build.exitCode !== 0) throw new Error(`the SDK bundle failed to build:\n${build.stderr.toString()}`);
    const code = readFileSync(join(out, "index.js"), "utf8");
    // Source paths relative to the repository, so the bytes do not depend on where it is checked out.
    const rawMap = JSON.parse(readFileSync(join(out, "index.js.map"), "utf8")) as { sources: string[] };
    const root = resolve(import.meta.dir, "../..");
    rawMap.sources = rawMap.sources.map((source) => relative(root, resolve(out, source)));
    const map = JSON.stringify(rawMap);
    const body = code.replace(/\n?\/\/# sourceMappingURL=.*\s*$/, "");
    const hash = new Bun.CryptoHasher("sha256").update(body).digest("hex").slice(0, 16);
    return { js: `${body}\n//# sourceMappingURL=auditor-sdk.${hash}.js.map\n`, map, hash };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
