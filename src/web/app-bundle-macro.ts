// A Bun macro: builds the VJ page (src/web/app) at bundle time: its script minified (the SDK
// stays an import of the served /sdk/auditor-sdk.js), its stylesheet, and index.html pointing
// at content-hashed names so they can be cached for good.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildForBrowser, shortHash } from "./browser-build.ts";

export interface WebAsset {
  path: string;
  body: string;
  type: string;
}

export interface WebApp {
  indexHtml: string;
  assets: WebAsset[];
}

export function webApp(): WebApp {
  const dir = join(import.meta.dir, "app");
  const { code: script } = buildForBrowser(join(dir, "main.ts"), "the VJ app");
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
}
