// The browser SDK, served by the binary: an immutable, content-hashed file and a stable alias
// that revalidates. Public code, so any origin may load it.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { sdkBundle } from "../../web/sdk-bundle-macro.ts" with { type: "macro" };
import { apiError } from "../errors.ts";
import { named, type BodySchema, type Operation, type ResponseSpec } from "../operations.ts";

const SDK = sdkBundle();
const HASHED = `/sdk/auditor-sdk.${SDK.hash}.js`;
// Declarations are built by `npm run build` and passed in when the binary is compiled.
declare const AUDITOR_SDK_DTS: string | undefined;
const DTS = typeof AUDITOR_SDK_DTS === "string" ? AUDITOR_SDK_DTS : undefined;

const IMMUTABLE = "public, max-age=31536000, immutable";
const JS = "text/javascript; charset=utf-8";

export const SdkManifestSchema = z
  .object({ js: z.string(), map: z.string(), types: z.string().nullable(), hash: z.string() })
  .strict();
type SdkManifest = z.infer<typeof SdkManifestSchema>;
const MANIFEST: SdkManifest = {
  js: HASHED,
  map: `${HASHED}.map`,
  types: DTS ? "/sdk/auditor-sdk.d.ts" : null,
  hash: SDK.hash,
};

const IfNoneMatchHeader = z.object({
  "if-none-match": z.string().optional().describe("The ETag you hold: 304 when it is current"),
});

function asset(c: Context, body: string, type: string, cacheControl: string) {
  c.header("access-control-allow-origin", "*");
  c.header("cache-control", cacheControl);
  c.header("etag", `"${SDK.hash}"`);
  if (c.req.header("if-none-match") === `"${SDK.hash}"`) return c.body(null, 304);
  return c.body(body, 200, { "content-type": type });
}

function sdkOperation(
  path: string,
  operationId: string,
  summary: string,
  type: string,
  body: BodySchema,
  extra: Record<number, ResponseSpec> = {},
): Operation {
  return {
    method: "get",
    path,
    operationId,
    tag: "sdk",
    summary,
    headers: IfNoneMatchHeader,
    responses: {
      200: { description: summary, content: { [type]: body }, headers: ["etag"] },
      304: { description: "The copy named by If-None-Match is current", headers: ["etag"] },
      ...extra,
    },
  };
}

export const sdkOperations: Operation[] = [
  sdkOperation(
    "/sdk/manifest.json",
    "getSdkManifest",
    "Where the SDK's files are (the hashed name changes with its content)",
    "application/json",
    named("SdkManifest", SdkManifestSchema),
  ),
  sdkOperation(
    "/sdk/auditor-sdk.js",
    "getSdk",
    "The browser SDK (ES module), revalidated on each use",
    "text/javascript",
    z.string(),
  ),
  sdkOperation(
    HASHED,
    "getSdkHashed",
    "The browser SDK under its content hash (immutable)",
    "text/javascript",
    z.string(),
  ),
  sdkOperation(
    `${HASHED}.map`,
    "getSdkSourceMap",
    "The SDK's source map",
    "application/json",
    z.looseObject({ version: z.number(), mappings: z.string() }),
  ),
  sdkOperation(
    "/sdk/auditor-sdk.d.ts",
    "getSdkDeclarations",
    "The SDK's TypeScript declarations (in compiled binaries)",
    "text/plain",
    z.string(),
    {
      404: {
        description: "Running from source: the declarations are built into compiled binaries only",
        errors: ["not_built"],
      },
    },
  ),
];

export function sdkRoutes() {
  return new Hono()
    .get("/sdk/manifest.json", (c) =>
      asset(c, JSON.stringify(MANIFEST), "application/json", "no-cache"),
    )
    .get("/sdk/auditor-sdk.js", (c) => asset(c, SDK.js, JS, "no-cache"))
    .get(HASHED, (c) => asset(c, SDK.js, JS, IMMUTABLE))
    .get(`${HASHED}.map`, (c) => asset(c, SDK.map, "application/json", IMMUTABLE))
    .get("/sdk/auditor-sdk.d.ts", (c) =>
      DTS
        ? asset(c, DTS, "text/plain; charset=utf-8", "no-cache")
        : apiError(
            c,
            404,
            "not_built",
            "the SDK declarations are built by `npm run build` into the compiled binary",
          ),
    );
}
