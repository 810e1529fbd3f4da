// `auditor verify` against the compiled binary running on the fake dstack guest agent: it passes
// when everything is as built and deployed, and fails with a named reason for each tampering.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildBinary } from "../../scripts/build.ts";
import { runVerify } from "../../src/verify/cli.ts";
import { startFakeDstack, type FakeDstack } from "../fixtures/fake-dstack.ts";
import { runAuditor, startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";

const root = join(import.meta.dir, "../..");
let dstack: FakeDstack;
let server: AuditorProcess;
let binary: { path: string; sha256: string };
let kid: string;

beforeAll(async () => {
  binary = await buildBinary(root);
  const socketPath = join(tempDir(), "dstack.sock");
  dstack = await startFakeDstack({ socketPath });
  server = await startAuditor({ command: [binary.path], env: { AUDITOR_TEE: "dstack", DSTACK_SIMULATOR_ENDPOINT: socketPath, AUDITOR_CORS_ORIGINS: "https://vj.example" } });
  kid = (await (await fetch(`${server.url}/attestation`)).json()).statement.kid;
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await dstack?.close();
});

const expected = () => ["--offline", "--binary-sha256", binary.sha256, "--compose-hash", dstack.composeHash, "--app-id", dstack.appId, "--pin", kid];

async function verify(url: string, args: string[]) {
  const out: string[] = [];
  const code = await runVerify([url, ...args, "--json"], (t) => out.push(t), (t) => out.push(t));
  const report = JSON.parse(out.join("\n")) as { verified: boolean; checks: { name: string; status: string; detail: string }[] };
  return { code, report, failed: report.checks.filter((c) => c.status === "fail").map((c) => c.name) };
}

/** A proxy in front of the server that rewrites one kind of response. */
function tamperingProxy(rewrite: { attestation?: (body: any) => void; report?: (body: any) => void; dropNonce?: boolean }) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (rewrite.dropNonce) url.searchParams.delete("nonce");
      const upstream = await fetch(`${server.url}${url.pathname}${url.search}`, { headers: req.headers });
      const body = await upstream.json();
      if (url.pathname === "/attestation") rewrite.attestation?.(body);
      if (url.pathname.startsWith("/report/")) rewrite.report?.(body);
      return Response.json(body, { status: upstream.status });
    },
  });
}

const runtimeDigest = (name: string, payloadHex: string) => {
  const type = Buffer.alloc(4);
  type.writeUInt32LE(0x08000001);
  return createHash("sha384").update(Buffer.concat([type, Buffer.from(`:${name}:`), Buffer.from(payloadHex, "hex")])).digest("hex");
};

describe("auditor verify", () => {
  test("the binary's own subcommand verifies the deployment it belongs to", async () => {
    const { stdout, code } = await runAuditor({ command: [binary.path], args: ["verify", server.url, ...expected()] });
    expect(code).toBe(0);
    expect(stdout).toContain("PASS  statement bound to the quote");
    expect(stdout).toContain("PASS  event log replays to RTMR3");
    expect(stdout).toContain(`PASS  binary digest`);
    expect(stdout).toContain("SKIP  Intel signature chain");
    expect(stdout).toContain("verified (1 check(s) skipped: see above)");
  });

  test("every check passes with the expected values, signature aside (offline)", async () => {
    const { code, report } = await verify(server.url, expected());
    expect(code).toBe(0);
    expect(report.checks.filter((c) => c.status !== "pass").map((c) => c.name)).toEqual(["Intel signature chain"]);
  });

  const tamperings: [string, Parameters<typeof tamperingProxy>[0] | undefined, (args: string[]) => string[], string[]][] = [
    ["a statement field changed in transit", { attestation: (b) => (b.statement.binarySha256 = "0".repeat(64)) }, (a) => a, ["statement bound to the quote", "binary digest", "report /report/etherea bound"]],
    ["the quote's report data changed", { attestation: (b) => (b.quote = b.quote.slice(0, (48 + 520) * 2) + "ff" + b.quote.slice((48 + 520) * 2 + 2)) }, (a) => a, ["statement bound to the quote"]],
    ["an event digest forged", { attestation: (b) => { const log = JSON.parse(b.eventLog); log[2].digest = "ab".repeat(48); b.eventLog = JSON.stringify(log); } }, (a) => a, ["event log replays to RTMR3"]],
    ["the compose-hash event rewritten with a matching digest", { attestation: (b) => { const log = JSON.parse(b.eventLog); log[2].event_payload = "cd".repeat(32); log[2].digest = runtimeDigest("compose-hash", log[2].event_payload); b.eventLog = JSON.stringify(log); } }, (a) => a, ["event log replays to RTMR3"]],
    ["a replayed statement (no fresh nonce)", { dropNonce: true }, (a) => a, ["fresh statement", "report /report/etherea bound"]],
    ["the report edited after binding", { report: (b) => (b.functions[0].egress[0].host = "collector.evil.example") }, (a) => a, ["report /report/etherea bound"]],
    ["a binary other than the one you built", undefined, (a) => a.map((v) => (v === binary.sha256 ? "1".repeat(64) : v)), ["binary digest"]],
    ["a compose file other than the one you deployed", undefined, (a) => a.map((v) => (v === dstack.composeHash ? "2".repeat(64) : v)), ["compose hash"]],
    ["another app id", undefined, (a) => a.map((v) => (v === dstack.appId ? "3".repeat(40) : v)), ["app id"]],
    ["an identity key you did not pin", undefined, (a) => a.map((v) => (v === kid ? "AAAAAAAAAAAAAAAA" : v)), ["identity key pinned"]],
  ];
  for (const [name, rewrite, args, failing] of tamperings) {
    test(`fails, naming why: ${name}`, async () => {
      const proxy = rewrite ? tamperingProxy(rewrite) : undefined;
      try {
        const { code, failed } = await verify(proxy ? `http://127.0.0.1:${proxy.port}` : server.url, args(expected()));
        expect(code).toBe(1);
        expect(failed).toEqual(failing);
      } finally {
        proxy?.stop(true);
      }
    });
  }

  test("--app-compose hashes the deployed app-compose.json as dstack does (sorted keys, any formatting)", async () => {
    // The fake agent measured exactly this manifest.
    const manifest = { runner: "docker-compose", name: "auditor", manifest_version: 2, docker_compose_file: "services:\n  auditor:\n    image: auditor\n" };
    const file = join(tempDir(), "app-compose.json");
    writeFileSync(file, JSON.stringify(manifest, null, 4));
    const args = expected().filter((a, i, all) => a !== "--compose-hash" && all[i - 1] !== "--compose-hash");
    const { code, report } = await verify(server.url, [...args, "--app-compose", file]);
    expect(code).toBe(0);
    expect(report.checks.find((c) => c.name === "compose hash")).toMatchObject({ status: "pass" });
  });

  test("online, an unsigned (fake) quote fails the Intel signature check", async () => {
    const { failed } = await verify(server.url, [...expected().filter((a) => a !== "--offline"), "--pccs-url", "http://127.0.0.1:9/"]);
    expect(failed).toEqual(["Intel signature chain"]);
  });

  test("a dev server has no quote: not verified", async () => {
    const dev = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
    try {
      const { code, failed } = await verify(dev.url, ["--offline"]);
      expect(code).toBe(1);
      expect(failed).toContain("TDX quote");
    } finally {
      await dev.stop();
    }
  });

  test("bad arguments are a usage error naming the argument", async () => {
    const err: string[] = [];
    expect(await runVerify(["not a url"], () => {}, (t) => err.push(t))).toBe(2);
    expect(err.join("")).toContain("url");
    expect(await runVerify([server.url, "--binary-sha256", "xyz"], () => {}, (t) => err.push(t))).toBe(2);
    expect(err.join("")).toContain("binarySha256");
  });
});
