// GET /source and GET /source/<path> (DESIGN "Provenance"): the listing of every file that
// determines the binary and each file's exact bytes, served from the binary itself, so anyone
// can hash them against the statement's treeSha256 and read the code that runs. Anything not
// listed (a path with .., another spelling, a directory) is 404: lookups are exact.
import { Hono } from "hono";
import { SOURCE_LISTING, sourceText } from "../../source/index.ts";
import { apiError } from "../errors.ts";

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
      if (text === undefined) return apiError(c, 404, "not_found", `path: ${JSON.stringify(path)} is not a file of this binary's source (GET /source lists them)`);
      c.header("cache-control", "no-cache");
      return c.body(text, 200, { "content-type": "text/plain; charset=utf-8" });
    });
}
