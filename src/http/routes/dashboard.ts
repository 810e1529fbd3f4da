// The operator's view: GET /dashboard (the page; its public parts read the public egress log
// and attestation), GET /dashboard/data (the operational snapshot) and GET /metrics
// (Prometheus text format), both behind an operator key.
import { Hono } from "hono";
import { dashboardSnapshot, type DashboardSources } from "../../metrics/index.ts";
import { dashboardPage } from "../../web/app-bundle-macro.ts" with { type: "macro" };
import { operatorOnly } from "../bearer.ts";
import { IMMUTABLE, servePage } from "../page.ts";

const PAGE = dashboardPage();

export function dashboardRoutes(sources: DashboardSources, operatorKeys: readonly string[]) {
  const operator = operatorOnly(operatorKeys);
  const app = new Hono()
    .get("/dashboard", (c) => servePage(c, PAGE.indexHtml, "text/html; charset=utf-8", "no-cache"))
    .get("/dashboard/data", operator, (c) => {
      c.header("cache-control", "no-store");
      return c.json(dashboardSnapshot(sources));
    })
    .get("/metrics", operator, async (c) => {
      c.header("cache-control", "no-store");
      return c.body(await sources.metrics.text(), 200, { "content-type": sources.metrics.contentType });
    });
  for (const asset of PAGE.assets) app.get(asset.path, (c) => servePage(c, asset.body, asset.type, IMMUTABLE));
  return app;
}
