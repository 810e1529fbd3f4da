// How the binary serves its pages and their assets: a strict Content-Security-Policy (scripts,
// styles and connections only to this server; the pages need nothing else), no framing, no
// plugins, no referrer.
import type { Context } from "hono";

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

export const IMMUTABLE = "public, max-age=31536000, immutable";

export function servePage(c: Context, body: string, type: string, cacheControl: string) {
  c.header("content-security-policy", CONTENT_SECURITY_POLICY);
  c.header("referrer-policy", "no-referrer");
  c.header("x-frame-options", "DENY");
  c.header("cache-control", cacheControl);
  return c.body(body, 200, { "content-type": type });
}
