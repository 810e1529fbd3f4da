// The browser SDK, served by the binary: an immutable, content-hashed file and a stable alias
// that revalidates. Public code, so any origin may load it.
import { Hono, type Context } from "hono";
import { sdkBundle } from "../../web/sdk-bundle-macro.ts" with { type: "macro" };
import { apiError } from "../errors.ts";

const SDK = sdkBundle();
const HASHED = `/sdk/auditor-sdk.${SDK.hash}.js`;
// Declarations are built by `npm run build` and passed in when the binary is compiled.
declare const AUDITOR_SDK_DTS: string | undefined;
const DTS = typeof AUDITOR_SDK_DTS === "string" ? AUDITOR_SDK_DTS : undefined;

const IMMUTABLE = "public, max-age=31536000, immutable";
const JS = "text/javascript; charset=utf-8";

function asset(c: Context, body: string, type: string, cacheControl: string) {
  c.header("access-control-allow-origin", "*");
  c.header("cache-control", cacheControl);
  c.header("etag", `"${SDK.hash}"`);
  if (c.req.header("if-none-match") === `"${SDK.hash}"`) return c.body(null, 304);
  return c.body(body, 200, { "content-type": type });
}

export function sdkRoutes() {
  return new Hono()
    .get("/sdk/manifest.json", (c) => asset(c, JSON.stringify({ js: HASHED, map: `${HASHED}.map`, types: DTS ? "/sdk/auditor-sdk.d.ts" : null, hash: SDK.hash }), "application/json", "no-cache"))
    .get("/sdk/auditor-sdk.js", (c) => asset(c, SDK.js, JS, "no-cache"))
    .get(HASHED, (c) => asset(c, SDK.js, JS, IMMUTABLE))
    .get(`${HASHED}.map`, (c) => asset(c, SDK.map, "application/json", IMMUTABLE))
    .get("/sdk/auditor-sdk.d.ts", (c) =>
      DTS ? asset(c, DTS, "text/plain; charset=utf-8", "no-cache") : apiError(c, 404, "not_built", "the SDK declarations are built by `npm run build` into the compiled binary"),
    );
}
