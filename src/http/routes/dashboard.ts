// The operator's view: GET /dashboard (the page; its public parts read the public egress log
// and attestation), GET /dashboard/data (the operational snapshot) and GET /metrics
// (Prometheus text format), both behind an operator key.
import { Hono } from "hono";
import { z } from "zod";
import {
  dashboardSnapshot,
  DashboardSnapshotSchema,
  type DashboardSources,
} from "../../metrics/index.ts";
import { dashboardPage } from "../../web/app-bundle-macro.ts" with { type: "macro" };
import { operatorOnly } from "../bearer.ts";
import { named, type Operation, type ResponseSpec } from "../operations.ts";
import { IMMUTABLE, pageAssetOperations, servePage } from "../page.ts";

const PAGE = dashboardPage();

const OPERATOR_REFUSALS: Record<number, ResponseSpec> = {
  401: { description: "No operator key was sent", errors: ["unauthorized"] },
  403: {
    description: "The key is not an operator key, or none is configured",
    errors: ["forbidden", "operator_disabled"],
  },
};

export const dashboardOperations: Operation[] = [
  {
    method: "get",
    path: "/dashboard",
    operationId: "getDashboard",
    tag: "operator",
    summary: "The operator's dashboard page (its public parts need no key)",
    responses: { 200: { description: "The page", content: { "text/html": z.string() } } },
  },
  ...pageAssetOperations(PAGE, "operator", "Dashboard", "The dashboard"),
  {
    method: "get",
    path: "/dashboard/data",
    operationId: "getDashboardData",
    tag: "operator",
    summary:
      "The dashboard's snapshot: calls, latency, errors, providers, sessions, refusals, resources",
    description: "Metadata only: never a body, transcript, prompt, tool value or secret.",
    security: "operatorKey",
    responses: {
      200: {
        description: "The snapshot",
        content: { "application/json": named("DashboardSnapshot", DashboardSnapshotSchema) },
      },
      ...OPERATOR_REFUSALS,
    },
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    tag: "operator",
    summary: "Prometheus text format (0.0.4): counters and histograms of the server's work",
    security: "operatorKey",
    responses: {
      200: { description: "The metrics", content: { "text/plain": z.string() } },
      ...OPERATOR_REFUSALS,
    },
  },
];

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
      return c.body(await sources.metrics.text(), 200, {
        "content-type": sources.metrics.contentType,
      });
    });
  for (const asset of PAGE.assets)
    app.get(asset.path, (c) => servePage(c, asset.body, asset.type, IMMUTABLE));
  return app;
}
