// The HTTP surface of attested functions: bad input, CORS, rate limits, reports, and secrets
// that must never appear in any response or log line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chainBreak } from "../../sdk/wire/egress-log.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { startFakeDstack, type FakeDstack } from "../fixtures/fake-dstack.ts";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";
import { canonicalJson } from "../../sdk/crypto/canonical-json.ts";
import { parseTdxQuote } from "../../sdk/verify/tdx-quote.ts";
import { ReportSchema } from "../../sdk/wire/report.ts";

const SECRETS = [
  "sk-or-v1-SECRET-5e3f9d2c1b0a-openrouter",
  "sk-ant-api03-SECRET-7a6b5c4d3e2f-anthropic",
];
const ORIGIN = "https://vj.etherea.example";

let llm: FakeLlm;
let dstack: FakeDstack;
let server: AuditorProcess;
const seen: string[] = []; // every response body and header block, scanned for secrets at the end

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  seen.push(text, JSON.stringify(Object.fromEntries(res.headers)));
  return { res, text, json: () => JSON.parse(text) };
}

const post = (
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
) => call("/invoke/generate-prompt", { method: "POST", headers, body });

beforeAll(async () => {
  llm = startFakeLlm();
  const socketPath = join(tempDir(), "dstack.sock");
  dstack = await startFakeDstack({ socketPath });
  server = await startAuditor({
    env: {
      AUDITOR_TEE: "dstack",
      DSTACK_SIMULATOR_ENDPOINT: socketPath,
      OPENROUTER_API_KEY: SECRETS[0]!,
      ANTHROPIC_API_KEY: SECRETS[1]!,
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
      ANTHROPIC_BASE_URL: llm.anthropicBaseUrl,
      AUDITOR_CORS_ORIGINS: ORIGIN,
      LOG_LEVEL: "debug",
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await dstack?.close();
  llm?.close();
});

describe("POST /invoke/:fn", () => {
  test("the seed's browser snippet works from another origin (preflight, then POST)", async () => {
    const preflight = await call("/invoke/generate-prompt", {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(preflight.res.status).toBe(204);
    expect(preflight.res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(preflight.res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "content-type",
    );

    const { res, json } = await post(
      JSON.stringify({
        session_id: "browser_______________",
        transcript: "a cathedral of glass",
        style_tags: "artist:turrell",
        vj_instruction: null,
      }),
      { "content-type": "application/json", origin: ORIGIN },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(json()).toMatchObject({ provider_used: "cerebras" });
  });

  test("an origin that is not allowed gets no CORS grant", async () => {
    const { res } = await call("/invoke/generate-prompt", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("bad input gets 400 with the field named, never a stack trace", async () => {
    const cases: [string, string][] = [
      [
        JSON.stringify({ session_id: "s_____________________", vj_instruction: "dance" }),
        "vj_instruction",
      ],
      [JSON.stringify({ transcript: "no session" }), "session_id"],
      [JSON.stringify({ session_id: "s_____________________", transcript: 42 }), "transcript"],
      [
        JSON.stringify({ session_id: "s_____________________", styleTags: "camelCase typo" }),
        "styleTags",
      ],
      [
        JSON.stringify({ session_id: "s_____________________", transcript: "x".repeat(20_001) }),
        "transcript",
      ],
      [JSON.stringify({ session_id: "" }), "session_id"],
      [JSON.stringify([1, 2]), "expected object"],
    ];
    for (const [body, field] of cases) {
      const { res, json, text } = await post(body);
      expect(res.status).toBe(400);
      expect(json().error).toBe("invalid_input");
      expect(json().message).toContain(field);
      expect(text).not.toContain("    at ");
    }
    const notJson = await post("{not json");
    expect(notJson.res.status).toBe(400);
    expect(notJson.json()).toEqual({ error: "invalid_json", message: "body: not valid JSON" });
  });

  test("wrong content type is 415, an oversized body 413, an unknown function 404", async () => {
    for (const type of ["text/plain", "application/json-seq", "application/auditor-sealed+jsonx"]) {
      expect((await post("{}", { "content-type": type })).res.status).toBe(415);
    }
    expect((await post("{}", {})).res.status).toBe(415);
    const big = await post(
      JSON.stringify({ session_id: "s_____________________", transcript: "x".repeat(300 * 1024) }),
    );
    expect(big.res.status).toBe(413);
    expect(big.json().message).toContain("body");
    const unknown = await call("/invoke/no-such-fn", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(unknown.res.status).toBe(404);
    expect(unknown.json()).toEqual({
      error: "not_found",
      message: 'unknown function "no-such-fn"',
    });
  });

  test("GET /functions lists manifests: schemas, egress hosts, secret names only", async () => {
    const { json } = await call("/functions");
    const [fn] = json().functions;
    expect(json().functions.map((f: { name: string }) => f.name)).toEqual([
      "generate-prompt",
      "fix-shader",
      "dj",
      "youtube-metadata",
    ]);
    expect(fn).toMatchObject({
      name: "generate-prompt",
      app: "etherea",
      secrets: ["OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "FIRESTORE_SERVICE_ACCOUNT"],
    });
    expect(fn.input.required).toEqual(["session_id"]);
    expect(fn.egress.map((e: { overriddenBy: string }) => e.overriddenBy)).toEqual([
      "OPENROUTER_BASE_URL",
      "ANTHROPIC_BASE_URL",
      null,
      null,
    ]);
  });
});

describe("GET /report/:app", () => {
  test("states functions, policy with operator overrides, observed egress, chain head and claims", async () => {
    await post(JSON.stringify({ session_id: "report________________", transcript: "x" }));
    const { json } = await call("/report/etherea");
    const report = json();
    expect(report.app).toBe("etherea");
    expect(report.attestation.tee.provider).toBe("dstack");
    const [fn] = report.functions;
    expect(fn.sources.map((s: { path: string }) => s.path)).toEqual([
      "functions/generate-prompt.ts",
      "functions/lib/session-id.ts",
      "functions/lib/firestore.ts",
      "functions/lib/llm.ts",
      "functions/lib/local-prompt.ts",
      "functions/lib/python-json.ts",
    ]);
    for (const source of fn.sources) {
      const text = await Bun.file(join(import.meta.dir, "../..", source.path)).text();
      expect(source.sha256).toBe(createHash("sha256").update(text).digest("hex"));
    }
    expect(fn.sourceSha256).toBe(
      createHash("sha256").update(canonicalJson(fn.sources)).digest("hex"),
    );
    const host = new URL(llm.url).host;
    expect(report.egressPolicy.filter((e: { fn: string }) => e.fn === "generate-prompt")).toEqual([
      {
        fn: "generate-prompt",
        origin: `http://${host}`,
        host,
        url: llm.openrouterBaseUrl,
        operatorOverride: "OPENROUTER_BASE_URL",
        enabled: true,
      },
      {
        fn: "generate-prompt",
        origin: `http://${host}`,
        host,
        url: llm.anthropicBaseUrl,
        operatorOverride: "ANTHROPIC_BASE_URL",
        enabled: true,
      },
      {
        fn: "generate-prompt",
        origin: "https://firestore.googleapis.com",
        host: "firestore.googleapis.com",
        url: "https://firestore.googleapis.com",
        operatorOverride: null,
        enabled: false,
      },
      {
        fn: "generate-prompt",
        origin: "https://oauth2.googleapis.com",
        host: "oauth2.googleapis.com",
        url: "https://oauth2.googleapis.com",
        operatorOverride: null,
        enabled: false,
      },
    ]);
    expect(new Set(report.egressPolicy.map((e: { fn: string }) => e.fn))).toEqual(
      new Set(["generate-prompt", "fix-shader", "dj", "youtube-metadata"]),
    );
    expect(
      report.claims.some(
        (c: { claim: string; knownBy: string }) =>
          c.knownBy === "operator" &&
          c.claim.includes("operator replaced https://openrouter.ai/api/v1"),
      ),
    ).toBe(true);
    expect(report.observedEgress[0]).toMatchObject({ scheme: "http", host, blocked: 0 });
    expect(report.observedEgress[0].calls).toBeGreaterThan(0);
    expect(chainBreak(report.egressLog.recent)).toBeUndefined();
    expect(report.egressLog.recent.at(-1).digest).toBe(report.egressLog.headDigest);
    expect(report.verification.length).toBeGreaterThanOrEqual(5);
    for (const claim of report.claims)
      expect(["hardware", "derived", "measured-code", "operator"]).toContain(claim.knownBy);
    // One definition of the contract, parsed as any client would.
    expect(ReportSchema.safeParse(report).success).toBe(true);
  });

  test("?nonce= binds a fresh quote to the report digest", async () => {
    const nonce = "c0ffee".padEnd(64, "0");
    const report = (await call(`/report/etherea?nonce=${nonce}`)).json();
    const { binding, ...rest } = report;
    const reportSha256 = createHash("sha256").update(canonicalJson(rest)).digest("hex");
    expect(binding.reportSha256).toBe(reportSha256);
    const reportData = createHash("sha512")
      .update("auditor-report-v1:" + canonicalJson({ nonce, reportSha256 }))
      .digest("hex");
    expect(binding.reportData).toBe(reportData);
    expect(Buffer.from(parseTdxQuote(binding.quote).reportData).toString("hex")).toBe(reportData);
    expect((await call("/report/etherea?nonce=xyz")).res.status).toBe(400);
    expect((await call("/report/etherea?nonce=00&nonce=11")).res.status).toBe(400);
  });

  test("text/markdown gives the same report as prose; an unknown app is 404", async () => {
    const md = await call("/report/etherea", { headers: { accept: "text/markdown" } });
    expect(md.res.headers.get("content-type")).toContain("text/markdown");
    expect(md.text).toContain("# Data-flow report: etherea");
    expect(md.text).toContain("## How to verify");
    expect(md.text).toContain("operator override via OPENROUTER_BASE_URL");
    const missing = await call("/report/nope");
    expect(missing.res.status).toBe(404);
  });
});

describe("secrets", () => {
  test("never appear in any response, header, report or log line", async () => {
    llm.script(
      "openrouter",
      { kind: "status", status: 401 },
      { kind: "garbage" },
      { kind: "status", status: 500 },
    );
    llm.script("anthropic", { kind: "status", status: 401 });
    await post(JSON.stringify({ session_id: "secret-scan___________", transcript: "x" }));
    await call("/report/etherea");
    await call("/report/etherea", { headers: { accept: "text/markdown" } });
    await call("/functions");
    await call("/attestation");
    const everything = [...seen, ...server.lines, server.stderr()].join("\n");
    expect(seen.length).toBeGreaterThan(20);
    for (const secret of SECRETS) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.slice(-12));
    }
  });
});
