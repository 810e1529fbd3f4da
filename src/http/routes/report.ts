// GET /report/:app in three forms of one report object: JSON (the default, and what digests and
// bindings are over), markdown and, for browsers, an HTML page whose script checks the claims
// with the served SDK. Chosen by ?format=, else by the Accept header.
import { Hono } from "hono";
import { z } from "zod";
import { ReportSchema } from "../../../sdk/wire/report.ts";
import type { Logger } from "../../log.ts";
import {
  bindReport,
  buildReport,
  reportHtml,
  reportMarkdown,
  type ReportDeps,
} from "../../report/index.ts";
import { reportPage } from "../../web/app-bundle-macro.ts" with { type: "macro" };
import { apiError } from "../errors.ts";
import { preferredType } from "../negotiate.ts";
import { NonceParam, quoteUnavailable } from "../nonce.ts";
import { named, type Operation } from "../operations.ts";
import { IMMUTABLE, pageAssetOperations, servePage } from "../page.ts";
import { readQuery } from "../query.ts";

const PAGE = reportPage();
const FORMATS = { json: "application/json", markdown: "text/markdown", html: "text/html" } as const;
type Format = keyof typeof FORMATS;
const FORMAT_NAMES = Object.keys(FORMATS) as [Format, ...Format[]];
const BY_TYPE = Object.fromEntries(
  Object.entries(FORMATS).map(([format, type]) => [type, format]),
) as Record<string, Format>;

export const ReportParamsSchema = z.object({
  app: z.string().describe("The app's name (etherea)"),
});
export const ReportQuerySchema = z.object({
  nonce: NonceParam,
  format: z
    .enum(FORMAT_NAMES, { error: `one of ${FORMAT_NAMES.join(", ")}` })
    .optional()
    .describe("Overrides the Accept header"),
});

export const reportOperations: Operation[] = [
  {
    method: "get",
    path: "/report/:app",
    operationId: "getReport",
    tag: "report",
    summary: "The app's data-flow report, each claim saying how it is known",
    description:
      "JSON by default (what digests and the binding are over); text/markdown by Accept or format=markdown; text/html (a page that checks the claims in the browser) by Accept or format=html. A nonce adds `binding`: a fresh quote over the report's digest.",
    params: ReportParamsSchema,
    query: ReportQuerySchema,
    responses: {
      200: {
        description: "The report, in the chosen form",
        content: {
          "application/json": named("Report", ReportSchema),
          "text/markdown": z.string(),
          "text/html": z.string(),
        },
      },
      400: {
        description: "A query parameter is invalid or repeated (named in message)",
        errors: ["bad_request"],
      },
      404: { description: "No such app", errors: ["not_found"] },
      503: {
        description: "A nonce was given and the TEE could not quote; retry shortly",
        errors: ["attestation_unavailable"],
      },
    },
  },
  ...pageAssetOperations(PAGE, "report", "ReportPage", "The report page"),
];

export function reportRoutes(deps: ReportDeps, log: Logger) {
  const app = new Hono().get("/report/:app", async (c) => {
    const query = readQuery(c, ReportQuerySchema, "bad_request");
    if (query instanceof Response) return query;
    const format =
      query.format ??
      BY_TYPE[
        preferredType(c.req.header("accept"), [FORMATS.json, FORMATS.markdown, FORMATS.html])
      ]!;
    const name = c.req.param("app");
    let report = buildReport(name, deps);
    if (!report) return apiError(c, 404, "not_found", `unknown app "${name}"`);
    if (query.nonce !== undefined) {
      try {
        report = await bindReport(report, query.nonce, deps.tee);
      } catch (err) {
        log.error("report binding failed", { err });
        return quoteUnavailable(c);
      }
    }
    c.header("vary", "accept");
    if (format === "html")
      return servePage(c, reportHtml(report, PAGE), "text/html; charset=utf-8", "no-store");
    c.header("cache-control", "no-store");
    if (format === "markdown")
      return c.body(reportMarkdown(report), 200, {
        "content-type": "text/markdown; charset=utf-8",
      });
    return c.json(report);
  });
  for (const asset of PAGE.assets)
    app.get(asset.path, (c) => servePage(c, asset.body, asset.type, IMMUTABLE));
  return app;
}
