// A path that exists under other methods answers 405 with `Allow` (RFC 9110 §15.5.6), not 404:
// the caller learns the route is right and the method is wrong. Built from the app's own route
// table once routes are composed, so a new route is covered without a list to keep in step; the
// trie router matches paths as the app's does (a trailing slash is another path).
import type { Context, Hono } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { apiError } from "./errors.ts";

export function methodNotAllowed(app: Hono): (c: Context) => Response | undefined {
  let router: TrieRouter<true> | undefined;
  let methods: string[] = [];
  return (c) => {
    if (!router) {
      // Middleware registers as ALL; only routes name a method.
      const routes = app.routes.filter((r) => r.method !== "ALL");
      router = new TrieRouter<true>();
      for (const route of routes) router.add(route.method, route.path, true);
      methods = [...new Set(routes.map((r) => r.method))];
    }
    const allowed = methods.filter((m) => router!.match(m, c.req.path)[0].length > 0);
    if (allowed.length === 0) return undefined;
    // hono answers HEAD with the GET route; every path answers the CORS preflight.
    const allow = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : []), "OPTIONS"];
    c.header("allow", allow.join(", "));
    return apiError(
      c,
      405,
      "method_not_allowed",
      `${c.req.method} ${c.req.path}: this route takes ${allow.join(", ")}`,
    );
  };
}
