// The cold-start baseline (bench/cold-start.ts): a bare Bun.serve answering /healthz, compiled
// with `bun build --compile` like dist/auditor, so the runtime's own start-up is a figure.
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT),
  fetch: () => Response.json({ ok: true }),
});
