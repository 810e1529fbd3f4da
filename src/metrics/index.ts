export { Metrics, type SessionEnd } from "./registry.ts";
export {
  BUCKET_MS,
  LatencySketch,
  RecentInvocations,
  type Invocation,
  type SeriesPoint,
  type TallySummary,
} from "./recent.ts";
export {
  dashboardSnapshot,
  DashboardSnapshotSchema,
  MAX_LISTED_SESSIONS,
  WINDOW_MS,
  type DashboardSnapshot,
  type DashboardSources,
} from "./dashboard.ts";
