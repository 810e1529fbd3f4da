// How the binary serves its pages and their assets: a strict Content-Security-Policy (scripts,
// styles and connections only to this server; the pages need nothing else), no framing, no
// plugins, no referrer.
import type { Context } from "hono";
import { z } from "zod";
import type { PageAssets } from "../web/app-bundle-macro.ts";
import type { Operation } from "./operations.ts";

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

/** The operations of a page's script and style (content-hashed paths, cached for good). */
export function pageAssetOperations(
  page: PageAssets,
  tag: string,
  idPrefix: string,
  what: string,
): Operation[] {
  return page.assets.map((asset) => {
    const kind = asset.path === page.scriptPath ? "Script" : "Style";
    return {
      method: "get",
      path: asset.path,
      operationId: `get${idPrefix}${kind}`,
      tag,
      summary: `${what}'s ${kind.toLowerCase()} (named by its content hash; immutable)`,
      responses: {
        200: {
          description: `The ${kind.toLowerCase()}`,
          content: { [asset.type.split(";")[0]!]: z.string() },
        },
      },
    };
  });
}
