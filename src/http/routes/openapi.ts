// GET /openapi.json: the OpenAPI 3.1 document of every endpoint (src/http/openapi.ts builds it
// once, at the first request, from the routes' own schemas; this serves those bytes).
import { Hono } from "hono";
import { z } from "zod";
import type { Operation } from "../operations.ts";

/** Enough of the document's shape to name it; its full schema is OpenAPI 3.1's own. */
export const OpenApiDocumentSchema = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

export const openApiOperation: Operation = {
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApi",
  tag: "meta",
  summary:
    "This document: every endpoint, status and error shape, generated from the routes' schemas",
  responses: {
    200: {
      description: "The OpenAPI 3.1 document (the same bytes for one build)",
      content: { "application/json": OpenApiDocumentSchema },
    },
  },
};

/** Serves the document `build` makes, built at the first request and kept. */
export function openApiRoutes(build: () => string) {
  let document: string | undefined;
  return new Hono().get("/openapi.json", (c) => {
    c.header("cache-control", "no-cache");
    return c.body((document ??= build()), 200, { "content-type": "application/json" });
  });
}
