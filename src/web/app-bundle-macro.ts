// A Bun macro: builds the binary's pages at bundle time: the VJ page (src/web/app), the
// operator's dashboard (src/web/dashboard) and the report page's script and style
// (src/web/report-page). Scripts are minified (the SDK stays an
// import of the served /sdk/auditor-sdk.js) and named by content hash so they can be cached
// for good; the VJ page's index.html points at those names.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildForBrowser, shortHash } from "./browser-build.ts";

export interface WebAsset {
  path: string;
  body: string;
  type: string;
}

export interface PageAssets {
  scriptPath: string;
  stylePath: string;
  assets: WebAsset[];
}

export interface StaticPage extends PageAssets {
  indexHtml: string;
}

/** `<dir>/main.ts` bundled and `<dir>/<style>` as is, served under `/<urlDir>/`. */
function pageAssets(dir: string, urlDir: string, style: string, what: string): PageAssets {
  const { code: script } = buildForBrowser(join(dir, "main.ts"), what);
  const css = readFileSync(join(dir, style), "utf8");
  const scriptPath = `/${urlDir}/main.${shortHash(script)}.js`;
  const stylePath = `/${urlDir}/${style.replace(/\.css$/, "")}.${shortHash(css)}.css`;
  return {
    scriptPath,
    stylePath,
    assets: [
      { path: scriptPath, body: script, type: "text/javascript; charset=utf-8" },
      { path: stylePath, body: css, type: "text/css; charset=utf-8" },
    ],
  };
}

/** A page whose index.html names `/<urlDir>/main.js` and `/<urlDir>/<style>`: both get hashed names. */
function staticPage(name: string, style: string, what: string): StaticPage {
  const dir = join(import.meta.dir, name);
  const page = pageAssets(dir, name, style, what);
  const indexHtml = readFileSync(join(dir, "index.html"), "utf8")
    .replace(`src="/${name}/main.js"`, `src="${page.scriptPath}"`)
    .replace(`href="/${name}/${style}"`, `href="${page.stylePath}"`);
  if (!indexHtml.includes(page.scriptPath) || !indexHtml.includes(page.stylePath))
    throw new Error(`${what}: index.html must load /${name}/main.js and /${name}/${style}`);
  return { ...page, indexHtml };
}

export function webApp(): StaticPage {
  return staticPage("app", "app.css", "the VJ app");
}

export function dashboardPage(): StaticPage {
  return staticPage("dashboard", "dashboard.css", "the dashboard");
}

export function reportPage(): PageAssets {
  return pageAssets(
    join(import.meta.dir, "report-page"),
    "report-page",
    "report.css",
    "the report page",
  );
}
