export { buildReport, bindReport, reportBindingData, REPORT_DOMAIN, type Report, type ReportBinding, type Claim, type KnownBy, type ReportDeps } from "./build.ts";
export { reportMarkdown } from "./markdown.ts";
