// GET /report/:app in three forms of one report object: JSON (the default, and what digests and
// bindings are over), markdown and, for browsers, an HTML page whose script checks the claims
// with the served SDK. Chosen by ?format=, else by the Accept header.
import { Hono } from "hono";
import type { Logger } from "../../log.ts";
import { bindReport, buildReport, reportHtml, reportMarkdown, type ReportDeps } from "../../report/index.ts";
import { reportPage } from "../../web/app-bundle-macro.ts" with { type: "macro" };
import { apiError } from "../errors.ts";
import { preferredType } from "../negotiate.ts";
import { quoteUnavailable, readNonce } from "../nonce.ts";
import { IMMUTABLE, servePage } from "../page.ts";

const PAGE = reportPage();
const FORMATS = { json: "application/json", markdown: "text/markdown", html: "text/html" } as const;
type Format = keyof typeof FORMATS;
const BY_TYPE = Object.fromEntries(Object.entries(FORMATS).map(([format, type]) => [type, format])) as Record<string, Format>;

export function reportRoutes(deps: ReportDeps, log: Logger) {
  const app = new Hono().get("/report/:app", async (c) => {
    const formats = c.req.queries("format") ?? [];
    if (formats.length > 1 || (formats[0] !== undefined && !(formats[0] in FORMATS))) {
      return apiError(c, 400, "bad_request", `format: one of ${Object.keys(FORMATS).join(", ")}`);
    }
    const format = (formats[0] as Format | undefined) ?? BY_TYPE[preferredType(c.req.header("accept"), [FORMATS.json, FORMATS.markdown, FORMATS.html])]!;
    const name = c.req.param("app");
    let report = buildReport(name, deps);
    if (!report) return apiError(c, 404, "not_found", `unknown app "${name}"`);
    const nonce = readNonce(c);
    if (nonce instanceof Response) return nonce;
    if (nonce !== undefined) {
      try {
        report = await bindReport(report, nonce, deps.tee);
      } catch (err) {
        log.error("report binding failed", { err });
        return quoteUnavailable(c);
      }
    }
    c.header("vary", "accept");
    if (format === "html") return servePage(c, reportHtml(report, PAGE), "text/html; charset=utf-8", "no-store");
    c.header("cache-control", "no-store");
    if (format === "markdown") return c.body(reportMarkdown(report), 200, { "content-type": "text/markdown; charset=utf-8" });
    return c.json(report);
  });
  for (const asset of PAGE.assets) app.get(asset.path, (c) => servePage(c, asset.body, asset.type, IMMUTABLE));
  return app;
}
