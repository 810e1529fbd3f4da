// The VJ page at `/` and its assets, embedded in the binary.
import { Hono } from "hono";
import { webApp } from "../../web/app-bundle-macro.ts" with { type: "macro" };
import { IMMUTABLE, servePage } from "../page.ts";

const APP = webApp();

export function webRoutes() {
  const app = new Hono().get("/", (c) => servePage(c, APP.indexHtml, "text/html; charset=utf-8", "no-cache"));
  for (const asset of APP.assets) app.get(asset.path, (c) => servePage(c, asset.body, asset.type, IMMUTABLE));
  return app;
}
