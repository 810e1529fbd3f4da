// GET /source and GET /source/<path> (DESIGN "Provenance"): the listing of every file that
// determines the binary and each file's exact bytes, served from the binary itself, so anyone
// can hash them against the statement's treeSha256 and read the code that runs. Anything not
// listed (a path with .., another spelling, a directory) is 404: lookups are exact.
import { Hono } from "hono";
import { z } from "zod";
import { SourceListingSchema } from "../../../sdk/wire/source.ts";
import { SOURCE_LISTING, sourceText } from "../../source/index.ts";
import { apiError } from "../errors.ts";
import { named, type Operation } from "../operations.ts";

export const sourceOperations: Operation[] = [
  {
    method: "get",
    path: "/source",
    operationId: "getSourceListing",
    tag: "provenance",
    summary: "Every file the binary was built from, with its sha256, and the tree's digest",
    description:
      'treeSha256 = SHA-256(JCS(files)), files sorted by path; the statement carries the same value (DESIGN "Provenance").',
    responses: {
      200: {
        description: "The listing",
        content: { "application/json": named("SourceListing", SourceListingSchema) },
      },
    },
  },
  {
    method: "get",
    path: "/source/*",
    operationId: "getSourceFile",
    tag: "provenance",
    summary: "One listed file's exact bytes",
    params: z.object({
      path: z
        .string()
        .describe(
          "The file's path as GET /source lists it, each segment percent-encoded as needed; it may contain /",
        ),
    }),
    responses: {
      200: { description: "The file's bytes, exactly", content: { "text/plain": z.string() } },
      400: { description: "The path is not valid percent-encoding", errors: ["bad_request"] },
      404: {
        description: "Not a file of this binary's source (lookups are exact)",
        errors: ["not_found"],
      },
    },
  },
];

export function sourceRoutes() {
  return new Hono()
    .get("/source", (c) => {
      c.header("cache-control", "no-cache");
      return c.json(SOURCE_LISTING);
    })
    .get("/source/*", (c) => {
      let path: string;
      try {
        path = decodeURIComponent(new URL(c.req.url).pathname.slice("/source/".length));
      } catch {
        return apiError(c, 400, "bad_request", "path: not a valid percent-encoded path");
      }
      const text = sourceText(path);
      if (text === undefined)
        return apiError(
          c,
          404,
          "not_found",
          `path: ${JSON.stringify(path)} is not a file of this binary's source (GET /source lists them)`,
        );
      c.header("cache-control", "no-cache");
      return c.body(text, 200, { "content-type": "text/plain; charset=utf-8" });
    });
}
