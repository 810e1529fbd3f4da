// The HTTP surface, for main.ts and src/services.ts: the app over every route, the body cap
// Bun.serve enforces, the drain a shutdown uses, CORS settings, and session forwarding.
export { createApp, MAX_REQUEST_BODY_BYTES, type AppDeps } from "./app.ts";
export { Drain } from "./drain.ts";
export { CorsConfigError, resolveCorsOrigins } from "./cors-origins.ts";
export { sessionForwarding } from "./session-forwarding.ts";
