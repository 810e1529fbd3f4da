// A Bun macro: builds the VJ page (src/web/app) at bundle time: its script minified (the SDK
// stays an import of the served /sdk/auditor-sdk.js), its stylesheet, and index.html pointing
// at content-hashed names so they can be cached for good.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface WebAsset {
  path: string;
  body: string;
  type: string;
}

export interface WebApp {
  indexHtml: string;
  assets: WebAsset[];
}

const shortHash = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 16);

export function webApp(): WebApp {
  const dir = join(import.meta.dir, "app");
  const out = mkdtempSync(join(tmpdir(), "auditor-app-"));
  try {
    // Bun.build would deadlock inside a macro: run the bundler CLI (this same bun) instead.
    const build = Bun.spawnSync([process.execPath, "build", join(dir, "main.ts"), "--target=browser", "--format=esm", "--minify", `--outdir=${out}`], { stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`the VJ app failed to build:\n${build.stderr.toString()}`);
    const script = readFileSync(join(out, "main.js"), "utf8");
    const style = readFileSync(join(dir, "app.css"), "utf8");
    const scriptPath = `/app/main.${shortHash(script)}.js`;
    const stylePath = `/app/app.${shortHash(style)}.css`;
    const indexHtml = readFileSync(join(dir, "index.html"), "utf8").replace('src="/app/main.js"', `src="${scriptPath}"`).replace('href="/app/app.css"', `href="${stylePath}"`);
    return {
      indexHtml,
      assets: [
        { path: scriptPath, body: script, type: "text/javascript; charset=utf-8" },
        { path: stylePath, body: style, type: "text/css; charset=utf-8" },
      ],
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
