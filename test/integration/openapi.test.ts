// GET /openapi.json: a valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator,
// each schema in it compiled by Ajv's JSON Schema 2020-12 in strict mode), covering every route
// the hono app registers (walked from the app itself, not from a list) and nothing it does not
// serve, the same bytes whatever the configuration; and real answers of a running server, success
// and errors, each match the document: a status it lists, the body's schema for its media type,
// the headers it names (the receipt decoded against its contentSchema).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020.js";
import { TrieRouter } from "hono/router/trie-router";
import { FUNCTIONS } from "../../functions/index.ts";
import { sealRequest } from "../../sdk/client/sealed.ts";
import { statementSha256 } from "../../sdk/wire/receipt.ts";
import { fromBase64Url, fromUtf8 } from "../../sdk/crypto/encoding.ts";
import { EgressLog } from "../../src/egress/index.ts";
import { FunctionHost } from "../../src/functions/host.ts";
import { ReceiptSigner } from "../../src/functions/receipts.ts";
import { SealedInvoker } from "../../src/functions/sealed-invoke.ts";
import { Drain } from "../../src/http/drain.ts";
import { PeerListener } from "../../src/sessions/peer-listener.ts";
import { Metrics } from "../../src/metrics/index.ts";
import { Readiness } from "../../src/readiness.ts";
import { createApp } from "../../src/http/app.ts";
import { createLogger } from "../../src/log.ts";
import { ToolRegistry } from "../../src/runtime/index.ts";
import { RemoteRuntimes } from "../../src/runtime/remote/runtimes.ts";
import { SessionManager } from "../../src/sessions/manager.ts";
import { SOURCE_PROVENANCE } from "../../src/source/index.ts";
import { SealedStore } from "../../src/store/index.ts";
import { createDevTee } from "../../src/tee/dev.ts";
import { createAttestor } from "../../src/tee/index.ts";
import { VERSION } from "../../src/version.ts";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";

type Json = Record<string, any>;

let llm: FakeLlm;
let server: AuditorProcess;
let text: string;
let doc: Json;

beforeAll(async () => {
  llm = startFakeLlm();
  server = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      OPENROUTER_API_KEY: "sk-or-test",
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
    },
  });
  const res = await fetch(`${server.url}/openapi.json`);
  expect(res.status).toBe(200);
  text = await res.text();
  doc = JSON.parse(text);
});
afterAll(async () => {
  await server?.stop();
  llm?.close();
});

/** The app of a server with every optional route on (extracted runtimes, peers), built in-process. */
async function appWithEveryRoute() {
  const dir = tempDir();
  const log = createLogger("error");
  const tee = await createDevTee(dir);
  const attestor = createAttestor(tee, null, SOURCE_PROVENANCE);
  const store = await SealedStore.open(dir, tee.sealingKey());
  const { kid } = attestor.statement;
  const app = createApp({
    log,
    version: VERSION,
    attestor,
    tee,
    egressLog: new EgressLog(),
    channels: () => [],
    host: new FunctionHost(FUNCTIONS, {
      fetch: globalThis.fetch,
      store,
      log,
      secrets: {},
      overrides: {},
      stateIdleTtlMs: 60_000,
    }),
    sealedInvoker: new SealedInvoker(tee.invokeKey(), kid),
    receipts: new ReceiptSigner(tee.identityKey(), kid, statementSha256(attestor.statement)),
    corsOrigins: ["*"],
    rateLimitPerMinute: 120,
    maxInFlightPerAddress: 128,
    sessions: {
      manager: new SessionManager(new ToolRegistry([])),
      apiKeys: ["k"],
      identity: tee.identityKey(),
      kid,
    },
    runtimes: new RemoteRuntimes(tee.identityKey(), [kid], log),
    peers: new PeerListener(tee.identityKey(), "ins_openapi_test", log),
    operatorKeys: ["an-operator-key-for-the-openapi-test"],
    dashboard: {
      metrics: new Metrics({ version: VERSION, tee: "dev", binarySha256: null }),
      startedAt: Date.now(),
      attestation: () => ({ attested: false, provider: "dev", kid, binarySha256: null }),
      sessions: { countByState: () => ({}), liveSessions: () => [] },
      store: () => ({ kind: "sqlite", host: null, up: true, detail: "" }),
    },
    readiness: new Readiness({ store, tee, shuttingDown: () => false }),
    drain: new Drain(),
    report: {
      sessionTools: [],
      sessionMaxima: {},
      settings: {
        sessionCreationNeedsKey: true,
        demoTools: false,
        extractedRuntimes: true,
        rateLimitPerMinute: 120,
        maxInFlightPerAddress: 128,
        maxSessions: 10,
        maxSessionsPerCaller: 10,
        memoryBudgetMb: 64,
        logLevel: "error",
        corsOrigins: ["*"],
      },
    },
  });
  return { app, close: () => store.close() };
}

/** hono's `/invoke/:fn` and `/source/*` as OpenAPI writes them. */
const templated = (path: string) => path.replace(/:(\w+)/g, "{$1}").replace(/\*$/, "{path}");

// Ajv holds the document's component schemas once, as the $defs of a schema named "components":
// a ref to #/components/schemas/X becomes components#/$defs/X.
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
const compiled = new Map<string, ValidateFunction>();
const rewrite = (schema: unknown) =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components#/$defs/'));
function validatorOf(schema: Json): ValidateFunction {
  if (!ajv.getSchema("components"))
    ajv.addSchema({ $id: "components", $defs: rewrite(doc.components.schemas) });
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) compiled.set(key, (validate = ajv.compile(rewrite(schema))));
  return validate;
}
const resolve = (object: Json): Json =>
  object.$ref
    ? object.$ref
        .split("/")
        .slice(1)
        .reduce((o: Json, k: string) => o[k], doc)
    : object;

function expectValid(schema: Json, value: unknown, where: string) {
  const validate = validatorOf(schema);
  const ok = validate(value);
  expect({ where, errors: ok ? null : validate.errors }).toEqual({ where, errors: null });
}

/** Checks one real answer against the document's operation for (method, path). */
async function expectDocumented(method: string, path: string, res: Response): Promise<string> {
  const op = doc.paths[path]?.[method];
  expect({ method, path, documented: op !== undefined }).toEqual({
    method,
    path,
    documented: true,
  });
  const where = `${method.toUpperCase()} ${path} → ${res.status}`;
  const spec = op.responses[String(res.status)];
  expect({ where, statusDocumented: spec !== undefined }).toEqual({
    where,
    statusDocumented: true,
  });
  const body = await res.text();
  const media = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  if (!spec.content) {
    expect({ where, body }).toEqual({ where, body: "" });
  } else {
    const content = spec.content[media];
    expect({ where, media, documented: content !== undefined }).toEqual({
      where,
      media,
      documented: true,
    });
    if (media === "application/json") expectValid(content.schema, JSON.parse(body), where);
    else if (media === "application/x-ndjson")
      for (const line of body.trimEnd().split("\n"))
        expectValid(content.schema, JSON.parse(line), `${where} (a line)`);
    else expectValid(content.schema, body, where);
  }
  expect(res.headers.get("x-request-id")).not.toBeNull();
  for (const [name, ref] of Object.entries(spec.headers ?? {}) as [string, Json][]) {
    const value = res.headers.get(name);
    if (value === null) continue;
    const { schema } = resolve(ref);
    expectValid(schema, value, `${where} header ${name}`);
    if (schema.contentSchema)
      expectValid(
        schema.contentSchema,
        JSON.parse(fromUtf8(fromBase64Url(value))),
        `${where} header ${name} content`,
      );
  }
  return body;
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
const INPUT = {
  session_id: "openapi-test__________",
  transcript: "a city of glass",
  style_tags: "",
  vj_instruction: null,
};

describe("the document", () => {
  test("is valid OpenAPI 3.1, and every schema in it is valid JSON Schema 2020-12 (strict)", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? null).toBeNull();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(doc.info.version).toBe(VERSION);
    // Strict mode refuses unknown keywords and malformed schemas; compiling each is the check.
    const schemas: Json[] = [];
    const collect = (node: unknown): void => {
      if (!node || typeof node !== "object") return;
      for (const [key, value] of Object.entries(node)) {
        if (key === "schema" || key === "contentSchema") schemas.push(value as Json);
        else collect(value);
      }
    };
    collect(doc.paths);
    collect(doc.components.headers);
    collect(doc.components.parameters);
    expect(schemas.length).toBeGreaterThan(100);
    for (const schema of schemas) validatorOf(schema);
  });

  test("states every route the app registers, and only paths the app serves", async () => {
    const { app, close } = await appWithEveryRoute();
    try {
      const routes = app.routes.filter((r) => r.method !== "ALL");
      expect(routes.length).toBeGreaterThan(20);
      const missing = routes.filter(
        (r) => doc.paths[templated(r.path)]?.[r.method.toLowerCase()] === undefined,
      );
      expect(missing.map((r) => `${r.method} ${r.path}`)).toEqual([]);

      const router = new TrieRouter<true>();
      for (const r of routes) router.add(r.method, r.path, true);
      const unserved = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
        Object.keys(item)
          .filter(
            (method) =>
              router.match(method.toUpperCase(), path.replace(/\{[^}]+\}/g, "sample"))[0].length ===
              0,
          )
          .map((method) => `${method} ${path}`),
      );
      expect(unserved).toEqual([]);
      // The in-process app (runtimes on, session keys set) states exactly what the server does.
      expect(await (await app.request("/openapi.json")).text()).toBe(text);
    } finally {
      await close();
    }
  });

  test("is the same bytes whatever the configuration", { timeout: 30_000 }, async () => {
    const other = await startAuditor({
      env: {
        AUDITOR_TEE: "dev",
        AUDITOR_API_KEYS: "k1,k2",
        AUDITOR_RUNTIME_KEYS: "AAAAAAAAAAAAAAAA",
        AUDITOR_RATE_LIMIT_PER_MIN: "5",
      },
    });
    try {
      expect(await (await fetch(`${other.url}/openapi.json`)).text()).toBe(text);
      expect(await (await fetch(`${server.url}/openapi.json`)).text()).toBe(text);
      // With runtimes configured, a plain GET of the attach path is told to upgrade.
      const plain = await fetch(`${other.url}/runtime/attach`);
      expect(plain.status).toBe(426);
      await expectDocumented("get", "/runtime/attach", plain);
    } finally {
      await other.stop();
    }
  });
});

describe("real answers match the document", () => {
  test("meta, attestation, provenance, report, SDK and pages", async () => {
    const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
    await expectDocumented("get", "/healthz", await get("/healthz"));
    await expectDocumented("get", "/openapi.json", await get("/openapi.json"));
    await expectDocumented("get", "/attestation", await get("/attestation?nonce=00ff"));
    await expectDocumented("get", "/attestation", await get("/attestation?format=dstack"));
    await expectDocumented("get", "/attestation", await get("/attestation?format=json"));
    await expectDocumented("get", "/attestation", await get("/attestation?nonce=zz"));
    await expectDocumented("get", "/functions", await get("/functions"));
    await expectDocumented("get", "/source", await get("/source"));
    await expectDocumented("get", "/source/{path}", await get("/source/package.json"));
    await expectDocumented("get", "/source/{path}", await get("/source/..%2Fetc%2Fpasswd"));
    await expectDocumented("get", "/source/{path}", await get("/source/%E0%A4%A"));
    await expectDocumented("get", "/egress-log", await get("/egress-log"));
    await expectDocumented("get", "/egress-log", await get("/egress-log?limit=0"));
    await expectDocumented("get", "/egress-log", await get("/egress-log?fromSeq=1&fromSeq=2"));
    for (const accept of ["application/json", "text/markdown", "text/html"])
      await expectDocumented(
        "get",
        "/report/{app}",
        await get("/report/etherea", { headers: { accept } }),
      );
    await expectDocumented("get", "/report/{app}", await get("/report/nope"));
    await expectDocumented("get", "/report/{app}", await get("/report/etherea?format=pdf"));
    const manifest = JSON.parse(
      await expectDocumented("get", "/sdk/manifest.json", await get("/sdk/manifest.json")),
    );
    await expectDocumented("get", manifest.js, await get(manifest.js));
    await expectDocumented("get", manifest.map, await get(manifest.map));
    const sdk = await get("/sdk/auditor-sdk.js");
    const etag = sdk.headers.get("etag")!;
    await expectDocumented("get", "/sdk/auditor-sdk.js", sdk);
    await expectDocumented(
      "get",
      "/sdk/auditor-sdk.js",
      await get("/sdk/auditor-sdk.js", { headers: { "if-none-match": etag } }),
    );
    await expectDocumented("get", "/sdk/auditor-sdk.d.ts", await get("/sdk/auditor-sdk.d.ts"));
    const page = await get("/");
    const html = await expectDocumented("get", "/", page);
    for (const [, asset] of html.matchAll(/(?:src|href)="(\/app\/[^"]+)"/g))
      await expectDocumented("get", asset!, await get(asset!));
    await expectDocumented("get", "/runtime/attach", await get("/runtime/attach"));
  });

  test("invoke: plain and sealed, success and each kind of refusal, with their receipts", async () => {
    const post = (path: string, init: RequestInit) => fetch(`${server.url}${path}`, init);
    const ok = await post("/invoke/generate-prompt", json(INPUT));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("auditor-receipt")).not.toBeNull();
    await expectDocumented("post", "/invoke/generate-prompt", ok);
    await expectDocumented(
      "post",
      "/invoke/generate-prompt",
      await post("/invoke/generate-prompt", json({ ...INPUT, transcript: 5 })),
    );
    await expectDocumented(
      "post",
      "/invoke/generate-prompt",
      await post("/invoke/generate-prompt", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      }),
    );
    await expectDocumented(
      "post",
      "/invoke/generate-prompt",
      await post("/invoke/generate-prompt", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "{}",
      }),
    );
    await expectDocumented(
      "post",
      "/invoke/generate-prompt",
      await post("/invoke/generate-prompt", json({ ...INPUT, transcript: "x".repeat(300 * 1024) })),
    );
    llm.script(
      "openrouter",
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
      { kind: "status", status: 500 },
    );
    const failed = await post("/invoke/generate-prompt", json(INPUT));
    expect(failed.status).toBe(500);
    await expectDocumented("post", "/invoke/generate-prompt", failed);
    await expectDocumented(
      "post",
      "/invoke/{fn}",
      await post("/invoke/no-such-function", json({})),
    );

    const { statement } = await (await fetch(`${server.url}/attestation`)).json();
    const sealed = await sealRequest("generate-prompt", INPUT, statement);
    const sealedInit = (body: unknown) => ({
      method: "POST",
      headers: { "content-type": "application/auditor-sealed+json" },
      body: JSON.stringify(body),
    });
    const opened = await post("/invoke/generate-prompt", sealedInit(sealed.body));
    expect(opened.status).toBe(200);
    await expectDocumented("post", "/invoke/generate-prompt", opened);
    await expectDocumented(
      "post",
      "/invoke/generate-prompt",
      await post("/invoke/generate-prompt", sealedInit(sealed.body)),
    ); // replayed
    await expectDocumented(
      "post",
      "/invoke/generate-prompt",
      await post(
        "/invoke/generate-prompt",
        sealedInit({ ...sealed.body, kid: "AAAAAAAAAAAAAAAA" }),
      ),
    );
    const badInput = await sealRequest("generate-prompt", { transcript: 5 }, statement);
    const sealedRefusal = await post("/invoke/generate-prompt", sealedInit(badInput.body));
    expect(sealedRefusal.status).toBe(400);
    await expectDocumented("post", "/invoke/generate-prompt", sealedRefusal);
  });

  test("sessions: the stream, state, resume, controls and their refusals", async () => {
    const post = (path: string, init: RequestInit) => fetch(`${server.url}${path}`, init);
    const code = `const v = await callTool("input", { prompt: "?" }); return v;`;
    const started = await post("/sessions", json({ protocolVersion: 1, code }));
    expect(started.status).toBe(200);
    // Read up to the input call, then answer it, then validate the whole stream.
    const reader = started.body!.getReader();
    let streamed = "";
    while (!streamed.includes('"tool_call"'))
      streamed += new TextDecoder().decode((await reader.read()).value);
    const init = JSON.parse(streamed.split("\n")[0]!);
    const id = init.sessionId as string;
    const auth = { authorization: `Bearer ${init.payload.sessionToken}` };
    const callId = JSON.parse(streamed.split("\n").find((l) => l.includes('"tool_call"'))!).payload
      .callId;

    const base = `/sessions/${id}`;
    await expectDocumented(
      "get",
      "/sessions/{id}",
      await fetch(`${server.url}${base}`, { headers: auth }),
    );
    await expectDocumented("get", "/sessions/{id}", await fetch(`${server.url}${base}`));
    await expectDocumented(
      "get",
      "/sessions/{id}",
      await fetch(`${server.url}${base}`, { headers: { authorization: "Bearer wrong" } }),
    );
    await expectDocumented(
      "get",
      "/sessions/{id}",
      await fetch(`${server.url}/sessions/ses_nope`, { headers: auth }),
    );
    await expectDocumented(
      "post",
      "/sessions/{id}/input",
      await post(`${base}/input`, json({ callId: "nope", value: 1 }, auth)),
    );
    await expectDocumented(
      "post",
      "/sessions/{id}/input",
      await post(`${base}/input`, json({ callId, value: { $: 1 }, extra: true }, auth)),
    );
    await expectDocumented(
      "post",
      "/sessions/{id}/input",
      await post(`${base}/input`, json({ callId, value: "yes" }, auth)),
    );
    await expectDocumented(
      "post",
      "/sessions/{id}/input",
      await post(`${base}/input`, json({ callId, value: "no" }, auth)),
    );
    for (let r = await reader.read(); !r.done; r = await reader.read())
      streamed += new TextDecoder().decode(r.value);
    await expectDocumented(
      "post",
      "/sessions",
      new Response(streamed, {
        headers: {
          "content-type": "application/x-ndjson",
          "x-request-id": started.headers.get("x-request-id")!,
        },
      }),
    );

    await expectDocumented(
      "get",
      "/sessions/{id}/stream",
      await fetch(`${server.url}${base}/stream?fromSeq=2`, { headers: auth }),
    );
    await expectDocumented(
      "get",
      "/sessions/{id}/stream",
      await fetch(`${server.url}${base}/stream?fromSeq=0`, { headers: auth }),
    );
    await expectDocumented(
      "post",
      "/sessions/{id}/cancel",
      await post(`${base}/cancel`, { method: "POST", headers: auth }),
    );
    await expectDocumented(
      "post",
      "/refs/resolve",
      await post("/refs/resolve", json({ sessionId: id, refs: ["ref_nope"] }, auth)),
    );
    await expectDocumented(
      "post",
      "/refs/resolve",
      await post("/refs/resolve", json({ refs: [] }, auth)),
    );
    await expectDocumented(
      "post",
      "/sessions",
      await post("/sessions", json({ protocolVersion: 2, code })),
    );
    await expectDocumented(
      "post",
      "/sessions",
      await post("/sessions", { method: "POST", body: "{}" }),
    );
  });

  test("refusals every route shares: 405 with Allow, 404, 401 without the API key, 429 past the rate limit", {
    timeout: 30_000,
  }, async () => {
    const wrong = await fetch(`${server.url}/healthz`, { method: "POST" });
    expect(wrong.status).toBe(405);
    const notAllowed = doc.components.responses.MethodNotAllowed;
    expectValid(notAllowed.content["application/json"].schema, await wrong.json(), "405");
    expectValid(resolve(notAllowed.headers.allow).schema, wrong.headers.get("allow"), "405 Allow");
    const missing = await fetch(`${server.url}/no/such/path`);
    expectValid(
      doc.components.responses.NotFound.content["application/json"].schema,
      await missing.json(),
      "404",
    );

    const strict = await startAuditor({
      env: { AUDITOR_TEE: "dev", AUDITOR_API_KEYS: "k1", AUDITOR_RATE_LIMIT_PER_MIN: "2" },
    });
    try {
      await expectDocumented(
        "post",
        "/sessions",
        await fetch(`${strict.url}/sessions`, json({ protocolVersion: 1, code: "return 1" })),
      );
      await expectDocumented(
        "post",
        "/sessions",
        await fetch(
          `${strict.url}/sessions`,
          json({ protocolVersion: 1, code: "return 1" }, { authorization: "Bearer nope" }),
        ),
      );
      const limited = await fetch(`${strict.url}/functions`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).not.toBeNull();
      await expectDocumented("get", "/functions", limited);
    } finally {
      await strict.stop();
    }
  });
});
