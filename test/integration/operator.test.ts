// The operator's endpoints over real HTTP: GET /metrics (Prometheus text, parsed by a real
// parser, moving as calls happen) and GET /dashboard/data behind AUDITOR_OPERATOR_KEYS, with
// hostile credentials; labels that stay bounded whatever callers send; no transcript, prompt or
// secret in either; and the public live egress stream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DashboardSnapshotSchema } from "../../src/metrics/index.ts";
import { EgressStreamLineSchema, chainBreak } from "../../sdk/wire/egress-log.ts";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import {
  parsePrometheusText,
  prometheusParserAvailable,
  type Family,
} from "../helpers/prometheus-text.ts";
import { sid } from "../helpers/session-id.ts";

const OPERATOR_KEY = "operator-key-for-tests-0123456789";
const OPENROUTER_KEY = "sk-or-secret-for-operator-tests";
const TRANSCRIPT = "a confidential transcript about the orange submarine";

let llm: FakeLlm;
let server: AuditorProcess;
let bare: AuditorProcess;

beforeAll(async () => {
  llm = startFakeLlm();
  [server, bare] = await Promise.all([
    startAuditor({
      env: {
        AUDITOR_TEE: "dev",
        AUDITOR_OPERATOR_KEYS: `${OPERATOR_KEY},another-operator-key-0123456789`,
        OPENROUTER_API_KEY: OPENROUTER_KEY,
        OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
      },
    }),
    startAuditor({ env: { AUDITOR_TEE: "dev" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), bare?.stop()]);
  llm?.close();
});

const asOperator = (url: string, key = OPERATOR_KEY) =>
  fetch(url, { headers: { authorization: `Bearer ${key}` } });
const invoke = (body: unknown) =>
  fetch(`${server.url}/invoke/generate-prompt`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** Every sample of GET /metrics, read by the Prometheus client's own parser. */
async function metrics(): Promise<Family[]> {
  const res = await asOperator(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return parsePrometheusText(await res.text());
}

/** The value of the sample named `name` whose labels include `labels` (0 when absent). */
const sample = (families: Family[], name: string, labels: Record<string, string> = {}) =>
  families
    .flatMap((f) => f.samples)
    .find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value ?? 0;

if (!prometheusParserAvailable && process.env.CI)
  test("the Prometheus text parser is installed", () =>
    expect(prometheusParserAvailable).toBe(true));

describe("operator credentials", () => {
  test.each(["/metrics", "/dashboard/data"])(
    "%s: none, wrong, malformed and near-miss keys are refused",
    async (path) => {
      const none = await fetch(`${server.url}${path}`);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toContain("Bearer");
      expect(await none.json()).toMatchObject({ error: "unauthorized" });
      for (const header of [
        `Bearer ${OPERATOR_KEY}x`,
        `Bearer ${OPERATOR_KEY.slice(0, -1)}`,
        `Basic ${btoa(`op:${OPERATOR_KEY}`)}`,
        `Bearer  `,
        `Bearer ${OPERATOR_KEY} extra`,
        OPERATOR_KEY,
      ]) {
        const res = await fetch(`${server.url}${path}`, { headers: { authorization: header } });
        expect([401, 403]).toContain(res.status);
        expect(await res.text()).not.toContain(OPERATOR_KEY);
      }
      expect(
        (await asOperator(`${server.url}${path}`, "another-operator-key-0123456789")).status,
      ).toBe(200);
    },
  );

  test("without AUDITOR_OPERATOR_KEYS the operational parts are off (403), the page and the public log are not", async () => {
    for (const path of ["/metrics", "/dashboard/data"]) {
      const res = await asOperator(`${bare.url}${path}`);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: "operator_disabled" });
    }
    expect((await fetch(`${bare.url}/dashboard`)).status).toBe(200);
    expect((await fetch(`${bare.url}/egress-log`)).status).toBe(200);
  });

  test("a key shorter than 24 characters stops start-up, without echoing it", async () => {
    const { runAuditor } = await import("../helpers/auditor-process.ts");
    const run = await runAuditor({
      env: { AUDITOR_TEE: "dev", AUDITOR_OPERATOR_KEYS: "short-secret-key" },
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("AUDITOR_OPERATOR_KEYS: each key must be at least 24 characters");
    expect(run.stderr + run.stdout).not.toContain("short-secret-key");
  });
});

describe.skipIf(!prometheusParserAvailable)("GET /metrics", () => {
  test("parses, and moves as calls happen: invocations, latency, egress, HTTP answers", async () => {
    const before = await metrics();
    const res = await invoke({ session_id: sid("metrics"), transcript: TRANSCRIPT });
    expect(res.status).toBe(200);
    await res.text();
    const after = await metrics();
    const labels = { fn: "generate-prompt", outcome: "ok", provider: "cerebras", mode: "plain" };
    expect(sample(after, "auditor_invocations_total", labels)).toBe(
      sample(before, "auditor_invocations_total", labels) + 1,
    );
    const histogram = after.find((f) => f.name === "auditor_invocation_duration_seconds")!;
    expect(histogram.type).toBe("histogram");
    expect(
      sample(after, "auditor_invocation_duration_seconds_count", { fn: "generate-prompt" }),
    ).toBe(
      sample(before, "auditor_invocation_duration_seconds_count", { fn: "generate-prompt" }) + 1,
    );
    expect(
      sample(after, "auditor_invocation_duration_seconds_bucket", {
        fn: "generate-prompt",
        le: "+Inf",
      }),
    ).toBeGreaterThan(0);
    const egress = { host: new URL(llm.url).host, outcome: "allowed" };
    expect(sample(after, "auditor_egress_requests_total", egress)).toBe(
      sample(before, "auditor_egress_requests_total", egress) + 1,
    );
    expect(
      sample(after, "auditor_http_requests_total", {
        route: "/invoke/:fn",
        method: "POST",
        status: "200",
      }),
    ).toBeGreaterThan(0);
    expect(after.find((f) => f.name === "auditor_build_info")!.samples[0]!.labels).toMatchObject({
      tee: "dev",
      binary_sha256: "none",
    });
    expect(sample(after, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  test("names follow the conventions: auditor_ prefix, counters end _total, units in base units", async () => {
    const families = (await metrics()).filter((f) => f.name.startsWith("auditor_"));
    expect(families.length).toBeGreaterThanOrEqual(12);
    for (const family of families) {
      expect(family.name).toMatch(/^auditor_[a-z][a-z0-9_]*$/);
      expect(family.documentation.length).toBeGreaterThan(10);
      if (family.type === "counter")
        for (const s of family.samples.filter((s) => !s.name.endsWith("_created")))
          expect(s.name).toEndWith("_total");
      if (family.type === "histogram") expect(family.name).toMatch(/_(seconds|bytes)$/);
      expect(family.name).not.toMatch(/_(ms|milliseconds|kb|mb)(_|$)/);
    }
  });

  test("a blocked egress attempt and a refusal are counted by host and by code", async () => {
    llm.script("openrouter", { kind: "redirect", location: "http://127.0.0.1:9/exfiltrate" });
    await (await invoke({ session_id: sid("blocked"), transcript: "x" })).text();
    await (await invoke({ session_id: "short", transcript: "x" })).text();
    const after = await metrics();
    expect(
      sample(after, "auditor_egress_requests_total", { host: "127.0.0.1:9", outcome: "blocked" }),
    ).toBe(1);
    expect(
      sample(after, "auditor_http_errors_total", { code: "invalid_input", status: "400" }),
    ).toBeGreaterThan(0);
    expect(
      sample(after, "auditor_invocations_total", {
        fn: "generate-prompt",
        outcome: "invalid_input",
        provider: "none",
      }),
    ).toBeGreaterThan(0);
  });

  test("labels stay bounded: unknown functions, raw paths and odd methods never become labels", async () => {
    for (let i = 0; i < 20; i++) {
      await (
        await fetch(`${server.url}/invoke/fn-${crypto.randomUUID()}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        })
      ).text();
      await (await fetch(`${server.url}/no/such/path/${crypto.randomUUID()}`)).text();
    }
    await (await fetch(`${server.url}/healthz`, { method: "PROPFIND" })).text();
    const text = await (await asOperator(`${server.url}/metrics`)).text();
    expect(text).not.toMatch(/fn-[0-9a-f]{8}-/);
    expect(text).not.toContain("/no/such/path");
    expect(text).not.toContain("PROPFIND");
    expect(text).toContain('route="unmatched"');
    expect(text).toContain('method="other"');
  });

  test("never a transcript, prompt or secret", async () => {
    await (await invoke({ session_id: sid("private"), transcript: TRANSCRIPT })).text();
    const text = await (await asOperator(`${server.url}/metrics`)).text();
    for (const secret of ["orange submarine", OPENROUTER_KEY, OPERATOR_KEY, "prompt 1"])
      expect(text).not.toContain(secret);
  });
});

describe("GET /dashboard/data", () => {
  test("matches its schema and shows the calls: latency, providers, plain vs sealed, egress by host", async () => {
    await (await invoke({ session_id: sid("dashboard"), transcript: TRANSCRIPT })).text();
    const raw = await (await asOperator(`${server.url}/dashboard/data`)).json();
    const snapshot = DashboardSnapshotSchema.parse(raw);
    const fn = snapshot.functions.find((f) => f.fn === "generate-prompt")!;
    expect(fn.window.calls).toBeGreaterThan(0);
    expect(fn.window.p50Ms).toBeGreaterThan(0);
    expect(fn.window.providers.cerebras).toBeGreaterThan(0);
    expect(fn.window.modes.plain).toBeGreaterThan(0);
    expect(snapshot.series).toHaveLength(90);
    expect(
      snapshot.egressHosts.some((h) => h.host === new URL(llm.url).host && h.allowed > 0),
    ).toBe(true);
    expect(snapshot.attestation).toMatchObject({ attested: false, provider: "dev" });
    expect(snapshot.store.kind).toBe("sqlite");
    const text = JSON.stringify(raw);
    for (const secret of ["orange submarine", OPENROUTER_KEY, OPERATOR_KEY])
      expect(text).not.toContain(secret);
  });

  test("a running session is listed with its state and limits, never its code", async () => {
    const res = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        protocolVersion: 1,
        code: `const secretMarker = "zebra"; await callTool("input", {}); return 1`,
        limits: { cpuMs: 1234 },
      }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    const snapshot = DashboardSnapshotSchema.parse(
      await (await asOperator(`${server.url}/dashboard/data`)).json(),
    );
    const live = snapshot.sessions.live.find((s) => s.limits.cpuMs === 1234)!;
    expect(live).toBeDefined();
    expect(live.idPrefix).toHaveLength(12);
    expect(JSON.stringify(snapshot)).not.toContain("zebra");
    await reader.cancel();
  });
});

describe("GET /egress-log/stream", () => {
  async function* lines(res: Response) {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += value;
        let newline;
        while ((newline = buffered.indexOf("\n")) !== -1) {
          yield EgressStreamLineSchema.parse(JSON.parse(buffered.slice(0, newline)));
          buffered = buffered.slice(newline + 1);
        }
      }
    } finally {
      await reader.cancel();
    }
  }

  test("starts at the head and streams each new entry as it is recorded, chained to the last", async () => {
    const page = await (await fetch(`${server.url}/egress-log`)).json();
    const stream = await fetch(`${server.url}/egress-log/stream`);
    expect(stream.headers.get("content-type")).toBe("application/x-ndjson");
    const iter = lines(stream);
    const start = (await iter.next()).value!;
    expect(start).toMatchObject({ type: "start", instanceId: page.instanceId });
    await (await invoke({ session_id: sid("stream"), transcript: "x" })).text();
    const next = (await iter.next()).value!;
    if (next.type !== "entry") throw new Error(`expected an entry, got ${next.type}`);
    expect(next.entry.seq).toBe(page.head.seq + 1);
    expect(chainBreak([page.entries.at(-1), next.entry])).toBeUndefined();
    await iter.return(undefined);
  });

  test("fromSeq: past the head and older than a page are 400 naming fromSeq; non-numbers too", async () => {
    const { head } = await (await fetch(`${server.url}/egress-log`)).json();
    for (const query of [
      `fromSeq=${head.seq + 2}`,
      "fromSeq=abc",
      "fromSeq=-1",
      "fromSeq=1.5",
      "other=1",
    ]) {
      const res = await fetch(`${server.url}/egress-log/stream?${query}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/fromSeq|other/);
    }
  });
});
