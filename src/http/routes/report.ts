import { Hono } from "hono";
import type { Logger } from "../../log.ts";
import { bindReport, buildReport, reportMarkdown, type ReportDeps } from "../../report/index.ts";
import { apiError } from "../errors.ts";
import { quoteUnavailable, readNonce } from "../nonce.ts";

export function reportRoutes(deps: ReportDeps, log: Logger) {
  return new Hono().get("/report/:app", async (c) => {
    const app = c.req.param("app");
    let report = buildReport(app, deps);
    if (!report) return apiError(c, 404, "not_found", `unknown app "${app}"`);
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
    c.header("cache-control", "no-store");
    if (/text\/markdown/i.test(c.req.header("accept") ?? "")) {
      return c.body(reportMarkdown(report), 200, { "content-type": "text/markdown; charset=utf-8" });
    }
    return c.json(report);
  });
}
