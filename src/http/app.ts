// Composes the HTTP surface from the modules that own each concern.
import { Hono } from "hono";
import type { Logger } from "../log.ts";
import type { Attestor } from "../tee/index.ts";
import { apiError } from "./errors.ts";
import { requestLog } from "./request-log.ts";
import { attestationRoutes } from "./routes/attestation.ts";

export interface AppDeps {
  log: Logger;
  version: string;
  attestor: Attestor;
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(requestLog(deps.log));
  app.use(async (c, next) => {
    await next();
    c.header("x-content-type-options", "nosniff");
  });

  app.get("/healthz", (c) =>
    c.json({
      ok: true,
      version: deps.version,
      tee: deps.attestor.statement.tee.provider,
      binarySha256: deps.attestor.statement.binarySha256,
    }),
  );
  app.route("/", attestationRoutes(deps.attestor, deps.log));

  app.notFound((c) => apiError(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    deps.log.error("unhandled error", { path: c.req.path, err });
    return apiError(c, 500, "internal_error", "internal error");
  });
  return app;
}
