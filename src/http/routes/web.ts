// The VJ page at `/`, embedded in the binary. A strict Content-Security-Policy: scripts, styles
// and connections only to this server (the page needs nothing else), no framing, no plugins.
import { Hono, type Context } from "hono";
import { webApp } from "../../web/app-bundle-macro.ts" with { type: "macro" };

const APP = webApp();

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function page(c: Context, body: string, type: string, cacheControl: string) {
  c.header("content-security-policy", CONTENT_SECURITY_POLICY);
  c.header("referrer-policy", "no-referrer");
  c.header("x-frame-options", "DENY");
  c.header("cache-control", cacheControl);
  return c.body(body, 200, { "content-type": type });
}

export function webRoutes() {
  const app = new Hono().get("/", (c) => page(c, APP.indexHtml, "text/html; charset=utf-8", "no-cache"));
  for (const asset of APP.assets) app.get(asset.path, (c) => page(c, asset.body, asset.type, "public, max-age=31536000, immutable"));
  return app;
}
