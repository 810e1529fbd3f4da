// The VJ page at `/` and its assets, embedded in the binary.
import { Hono } from "hono";
import { z } from "zod";
import { webApp } from "../../web/app-bundle-macro.ts" with { type: "macro" };
import type { Operation } from "../operations.ts";
import { IMMUTABLE, pageAssetOperations, servePage } from "../page.ts";

const APP = webApp();

export const webOperations: Operation[] = [
  {
    method: "get",
    path: "/",
    operationId: "getVjPage",
    tag: "web",
    summary: "The ETHEREA VJ page",
    responses: {
      200: {
        description: "The page (its script and style are the two assets below)",
        content: { "text/html": z.string() },
      },
    },
  },
  ...pageAssetOperations(APP, "web", "VjPage", "The VJ page"),
];

export function webRoutes() {
  const app = new Hono().get("/", (c) =>
    servePage(c, APP.indexHtml, "text/html; charset=utf-8", "no-cache"),
  );
  for (const asset of APP.assets)
    app.get(asset.path, (c) => servePage(c, asset.body, asset.type, IMMUTABLE));
  return app;
}
