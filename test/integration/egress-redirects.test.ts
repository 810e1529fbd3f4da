// The egress policy is per origin (scheme, host, port) and redirects cannot launder it: real
// https and http upstreams on loopback redirect (308 to http, 307 between two allowed origins,
// 302 to an undeclared one), and each test asserts what the next server actually received.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { invokeAnswer } from "../../src/http/routes/functions.ts";
import { chainBreak } from "../../sdk/wire/egress-log.ts";
import { z } from "zod";
import {
  createAuditedFetch,
  EgressBlockedError,
  EgressLog,
  runAsCaller,
  type EgressCaller,
} from "../../src/egress/index.ts";
import { defineFunction } from "../../src/functions/define.ts";
import { FunctionHost } from "../../src/functions/host.ts";
import { createLogger } from "../../src/log.ts";
import { SealedStore } from "../../src/store/index.ts";
import { createDevTee } from "../../src/tee/dev.ts";
import { tempDir } from "../helpers/auditor-process.ts";
import { loopbackCert } from "../helpers/tls.ts";

interface Received {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** A loopback upstream that records every request and answers by path. */
function upstream(
  tls: { cert: string; key: string } | undefined,
  route: (path: string) => Response | undefined,
) {
  const received: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    ...(tls ? { tls } : {}),
    async fetch(req) {
      const path = new URL(req.url).pathname;
      received.push({
        path,
        method: req.method,
        headers: Object.fromEntries(req.headers),
        body: await req.text(),
      });
      return route(path) ?? new Response(`ok ${path}`);
    },
  });
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${server.port}`;
  return { server, received, origin };
}

const SECRET = "sk-ant-test-0123456789";
const CREDENTIALS = {
  authorization: "Bearer sk-or-test",
  "proxy-authorization": "Basic cHJveHk6cHc=",
  "x-api-key": SECRET,
  cookie: "session=abc",
  "x-custom-auth": `key=${SECRET}`,
  "x-trace": "harmless",
};

let cert: { cert: string; key: string };
let a: ReturnType<typeof upstream>;
let b: ReturnType<typeof upstream>;
let plain: ReturnType<typeof upstream>;
let evil: ReturnType<typeof upstream>;

beforeAll(() => {
  cert = loopbackCert();
  plain = upstream(undefined, () => undefined);
  evil = upstream(cert, () => undefined);
  b = upstream(cert, () => undefined);
  a = upstream(cert, (path) => {
    if (path === "/to-http")
      return new Response(null, { status: 308, headers: { location: `${plain.origin}/landing` } });
    if (path === "/to-b")
      return new Response(null, { status: 307, headers: { location: `${b.origin}/landing` } });
    if (path === "/to-evil")
      return new Response(null, { status: 302, headers: { location: `${evil.origin}/stolen` } });
    if (path === "/to-self")
      return new Response(null, { status: 307, headers: { location: "/landing" } });
    return undefined;
  });
});
afterAll(() => {
  for (const u of [a, b, plain, evil]) u?.server.stop(true);
});

/** Trusts exactly the test certificate, as the process's fetch trusts the system roots. */
const trusting: typeof fetch = Object.assign(
  (input: RequestInfo | URL, init?: RequestInit) =>
    fetch(input, { ...init, tls: { ca: cert.cert } } as RequestInit),
  { preconnect: () => {} },
);

function caller(origins: string[], secretValues: string[] = [SECRET]): EgressCaller {
  return { app: "test", fn: "redirects", allowedOrigins: new Set(origins), secretValues };
}

function reset() {
  for (const u of [a, b, plain, evil]) u.received.length = 0;
}

describe("egress policy per origin", () => {
  test("a 308 from https to http is refused even when the http origin is allowed; nothing reaches it", async () => {
    reset();
    const log = new EgressLog();
    const audited = createAuditedFetch(trusting, log);
    const call = runAsCaller(caller([a.origin, plain.origin]), () =>
      audited(`${a.origin}/to-http`, { method: "POST", headers: CREDENTIALS, body: "transcript" }),
    );
    await expect(call).rejects.toBeInstanceOf(EgressBlockedError);
    await expect(
      runAsCaller(caller([a.origin, plain.origin]), () => audited(`${a.origin}/to-http`)),
    ).rejects.toThrow("from https to");
    expect(plain.received).toEqual([]);
    expect(a.received[0]!.headers["x-api-key"]).toBe(SECRET); // the first hop, to its own origin, had it
    expect(log.list().map((e) => [e.scheme, e.allowed, e.status, e.error ?? null])).toEqual([
      ["https", true, 308, null],
      ["http", false, null, "blocked: https to http redirect"],
      ["https", true, 308, null],
      ["http", false, null, "blocked: https to http redirect"],
    ]);
    expect(chainBreak(log.list())).toBeUndefined();
  });

  test("a 307 between two allowed origins keeps the body but drops every credential and every header holding a secret", async () => {
    reset();
    const log = new EgressLog();
    const audited = createAuditedFetch(trusting, log);
    const res = await runAsCaller(caller([a.origin, b.origin]), () =>
      audited(`${a.origin}/to-b`, { method: "POST", headers: CREDENTIALS, body: "transcript" }),
    );
    expect(await res.text()).toBe("ok /landing");
    expect(b.received).toHaveLength(1);
    const second = b.received[0]!;
    expect(second).toMatchObject({ method: "POST", body: "transcript" });
    expect(second.headers["x-trace"]).toBe("harmless");
    for (const name of [
      "authorization",
      "proxy-authorization",
      "x-api-key",
      "cookie",
      "x-custom-auth",
    ])
      expect({ name, value: second.headers[name] }).toEqual({ name, value: undefined });
    expect(JSON.stringify(second)).not.toContain(SECRET);
    expect(log.list().map((e) => [e.scheme, e.host, e.allowed])).toEqual([
      ["https", a.origin.slice("https://".length), true],
      ["https", b.origin.slice("https://".length), true],
    ]);
  });

  test("a redirect within one origin keeps the credentials", async () => {
    reset();
    const audited = createAuditedFetch(trusting, new EgressLog());
    const res = await runAsCaller(caller([a.origin]), () =>
      audited(`${a.origin}/to-self`, { headers: CREDENTIALS }),
    );
    expect(await res.text()).toBe("ok /landing");
    expect(
      a.received.map((r) => [r.path, r.headers.authorization, r.headers["x-api-key"]]),
    ).toEqual([
      ["/to-self", CREDENTIALS.authorization, SECRET],
      ["/landing", CREDENTIALS.authorization, SECRET],
    ]);
  });

  test("a redirect to an undeclared origin is refused at that hop; nothing reaches it", async () => {
    reset();
    const log = new EgressLog();
    const audited = createAuditedFetch(trusting, log);
    await expect(
      runAsCaller(caller([a.origin]), () =>
        audited(`${a.origin}/to-evil`, { headers: CREDENTIALS }),
      ),
    ).rejects.toThrow(`${evil.origin} is not in the egress policy`);
    expect(evil.received).toEqual([]);
    expect(log.list().at(-1)).toMatchObject({
      scheme: "https",
      allowed: false,
      error: "blocked by egress policy",
    });
  });

  test("a policy naming https://host:port does not admit http://host:port, nor another port", async () => {
    reset();
    const port = new URL(plain.origin).port;
    const audited = createAuditedFetch(trusting, new EgressLog());
    await expect(
      runAsCaller(caller([`https://127.0.0.1:${port}`]), () => audited(`${plain.origin}/x`)),
    ).rejects.toBeInstanceOf(EgressBlockedError);
    await expect(
      runAsCaller(caller([`http://127.0.0.1:${Number(port) + 1}`]), () =>
        audited(`${plain.origin}/x`),
      ),
    ).rejects.toBeInstanceOf(EgressBlockedError);
    expect(plain.received).toEqual([]);
  });
});

describe("a function's declared secrets never follow a cross-origin redirect", () => {
  test("FunctionHost hands the function's secret values to the egress policy", async () => {
    reset();
    const dataDir = tempDir();
    const tee = await createDevTee(dataDir);
    const store = await SealedStore.open(dataDir, tee.sealingKey());
    const fn = defineFunction({
      name: "leaky",
      app: "redirect-app",
      description: "sends its key in a custom header to an upstream that redirects",
      input: z.object({}),
      output: z.object({ text: z.string() }),
      egress: [
        { name: "a", url: a.origin, purpose: "first" },
        { name: "b", url: b.origin, purpose: "second" },
      ],
      secrets: ["LEAKY_KEY"],
      async handler(_input, ctx) {
        const res = await ctx.fetch(`${ctx.upstreams.a}/to-b`, {
          headers: { "x-goog-api-key": ctx.secrets.LEAKY_KEY!, "x-trace": "t" },
        });
        return { text: await res.text() };
      },
    });
    const host = new FunctionHost([{ definition: fn, sources: { "leaky.ts": "source" } }], {
      fetch: createAuditedFetch(trusting, new EgressLog()),
      store,
      log: createLogger("error"),
      secrets: { LEAKY_KEY: "AIza-leaky-secret" },
      overrides: {},
      stateIdleTtlMs: 60_000,
    });
    expect(invokeAnswer(await host.invoke("leaky", {}))).toEqual({
      status: 200,
      body: { text: "ok /landing" },
    });
    expect(a.received[0]!.headers["x-goog-api-key"]).toBe("AIza-leaky-secret");
    expect(b.received[0]!.headers["x-goog-api-key"]).toBeUndefined();
    expect(b.received[0]!.headers["x-trace"]).toBe("t");
    await store.close();
  });
});
