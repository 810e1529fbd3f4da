export {
  buildReport,
  bindReport,
  reportBindingData,
  REPORT_DOMAIN,
  type Report,
  type ReportBinding,
  type Claim,
  type KnownBy,
  type ReportDeps,
  type ReportSettings,
  type SessionToolSummary,
} from "./build.ts";
export { reportMarkdown } from "./markdown.ts";
export { reportHtml, type ReportPageAssets } from "./html.ts";
