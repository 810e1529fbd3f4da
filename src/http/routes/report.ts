import { Hono } from "hono";
import { NonceSchema } from "../../../sdk/wire/attestation.ts";
import type { Logger } from "../../log.ts";
import { bindReport, buildReport, reportMarkdown, type ReportDeps } from "../../report/index.ts";
import { apiError } from "../errors.ts";

export function reportRoutes(deps: ReportDeps, log: Logger) {
  return new Hono().get("/report/:app", async (c) => {
    const app = c.req.param("app");
    let report = buildReport(app, deps);
    if (!report) return apiError(c, 404, "not_found", `unknown app "${app}"`);
    const nonce = c.req.query("nonce");
    if (nonce !== undefined) {
      const parsed = NonceSchema.safeParse(nonce);
      if (!parsed.success) return apiError(c, 400, "bad_request", `nonce: ${parsed.error.issues[0]!.message}`);
      try {
        report = await bindReport(report, nonce, deps.tee);
      } catch (err) {
        log.error("report binding failed", { err });
        return apiError(c, 503, "attestation_unavailable", "the TEE could not produce a quote; try again shortly");
      }
    }
    c.header("cache-control", "no-store");
    if (/text\/markdown/i.test(c.req.header("accept") ?? "")) {
      return c.body(reportMarkdown(report), 200, { "content-type": "text/markdown; charset=utf-8" });
    }
    return c.json(report);
  });
}
