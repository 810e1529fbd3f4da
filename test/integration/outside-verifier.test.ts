// An outside verifier written only from DESIGN ("Attestation", "Provenance, receipts and the
// public egress log"): it imports nothing of the project's code (only the process and fake
// upstream fixtures to stand the binary up), implements JCS itself and checks with WebCrypto,
// and walks the report's verification steps against the compiled binary, attested by the fake
// guest agent, with a fake upstream LLM.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { buildBinary } from "../../scripts/build.ts";
import { startFakeDstack, type FakeDstack } from "../fixtures/fake-dstack.ts";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";

const root = join(import.meta.dir, "../..");

// ---- the verifier's own primitives, from the specifications -------------------------------

/** RFC 8785: members sorted by UTF-16 code units, no whitespace, ECMAScript number and string forms. */
function jcs(value: unknown): string {
  if (
    value === null ||
    typeof value === "boolean" ||
    typeof value === "number" ||
    typeof value === "string"
  )
    return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${jcs(record[k])}`)
    .join(",")}}`;
}
const bytes = (text: string) => new TextEncoder().encode(text);
const hex = (buffer: ArrayBuffer | Uint8Array) =>
  [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (data: Uint8Array) =>
  hex(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
const sha512 = async (data: Uint8Array) =>
  hex(await crypto.subtle.digest("SHA-512", data as Uint8Array<ArrayBuffer>));
const b64url = (text: string) =>
  Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4)),
    (c) => c.charCodeAt(0),
  );
const git = (...args: string[]) =>
  Bun.spawnSync(["git", "-C", root, ...args])
    .stdout.toString()
    .trim();
const SOURCE_ROOTS = [
  "src",
  "sdk",
  "functions",
  "scripts",
  "package.json",
  "package-lock.json",
  "bunfig.toml",
  "tsconfig.json",
  "Dockerfile",
];

// ---- the deployment under test -------------------------------------------------------------

let binary: string;
let dstack: FakeDstack;
let llm: FakeLlm;
let withKey: AuditorProcess;
let offline: AuditorProcess;

beforeAll(async () => {
  binary = (await buildBinary(root)).path;
  dstack = await startFakeDstack({ socketPath: join(tempDir(), "dstack.sock") });
  llm = startFakeLlm();
  const common = {
    AUDITOR_TEE: "dstack",
    DSTACK_SIMULATOR_ENDPOINT: dstack.socketPath,
    AUDITOR_CORS_ORIGINS: "https://vj.example",
  };
  withKey = await startAuditor({
    command: [binary],
    env: {
      ...common,
      OPENROUTER_API_KEY: "sk-or-outside",
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
    },
  });
  offline = await startAuditor({ command: [binary], env: common });
}, 120_000);

afterAll(async () => {
  await withKey?.stop();
  await offline?.stop();
  llm?.close();
  await dstack?.close();
});

async function attestation(base: string) {
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
  const body = await (await fetch(`${base}/attestation?nonce=${nonce}`)).json();
  return { nonce, ...body };
}

describe("an outside verifier, from DESIGN alone", () => {
  test("the statement is fresh and is the quote's report data", async () => {
    const { nonce, statement, quote } = await attestation(withKey.url);
    expect(statement.nonce).toBe(nonce);
    const reportData = quote.slice((48 + 520) * 2, (48 + 520 + 64) * 2);
    expect(reportData).toBe(await sha512(bytes(`auditor-attestation-v1:${jcs(statement)}`)));
    expect(statement.binarySha256).toBe(
      await sha256(new Uint8Array(await Bun.file(binary).arrayBuffer())),
    );
  });

  test("the sources hash to treeSha256, and the commit is this checkout's HEAD", async () => {
    const { statement } = await attestation(withKey.url);
    const listing = await (await fetch(`${withKey.url}/source`)).json();
    expect(await sha256(bytes(jcs(listing.files)))).toBe(statement.source.treeSha256);
    expect(listing.treeSha256).toBe(statement.source.treeSha256);
    for (const file of listing.files) {
      const served = new Uint8Array(
        await (await fetch(`${withKey.url}/source/${file.path}`)).arrayBuffer(),
      );
      expect(await sha256(served)).toBe(file.sha256);
      expect(
        await sha256(new Uint8Array(await Bun.file(join(root, file.path)).arrayBuffer())),
      ).toBe(file.sha256);
    }
    const dirty =
      git("status", "--porcelain", "--untracked-files=normal", "--", ...SOURCE_ROOTS) !== "";
    expect(statement.source.commit).toBe(git("rev-parse", "HEAD") + (dirty ? "-dirty" : ""));
    expect(statement.source.repository).toBe(
      (await Bun.file(join(root, "package.json")).json()).repository,
    );
    expect((await fetch(`${withKey.url}/source/../package.json`)).status).toBe(404);
  });

  test("a receipt verifies, and its egress entries are in the chain from genesis", async () => {
    const { statement } = await attestation(withKey.url);
    const request = bytes(
      JSON.stringify({
        session_id: crypto.randomUUID(),
        transcript: "a lighthouse in fog",
        style_tags: "",
        vj_instruction: null,
      }),
    );
    const res = await fetch(`${withKey.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: request,
    });
    const response = new Uint8Array(await res.arrayBuffer());
    expect(res.status).toBe(200);
    const { receipt, signature } = JSON.parse(
      new TextDecoder().decode(b64url(res.headers.get("auditor-receipt")!)),
    );
    const key = await crypto.subtle.importKey(
      "raw",
      b64url(statement.identityKey),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    expect(
      await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        b64url(signature),
        bytes(`auditor-receipt-v1:${jcs(receipt)}`),
      ),
    ).toBe(true);
    const { nonce: _nonce, ...plain } = statement;
    expect(receipt).toMatchObject({
      v: 1,
      kid: statement.kid,
      app: "etherea",
      fn: "generate-prompt",
      status: 200,
    });
    expect(receipt.statementSha256).toBe(await sha256(bytes(jcs(plain))));
    expect(receipt.requestSha256).toBe(await sha256(request));
    expect(receipt.responseSha256).toBe(await sha256(response));
    expect(
      receipt.egress.map((e: { host: string; method: string }) => `${e.method} ${e.host}`),
    ).toEqual([`POST ${new URL(llm.url).host}`]);

    // The whole public log, from genesis, page by page.
    const entries: Record<string, unknown>[] = [];
    let head = { seq: 0, digest: "" };
    for (let from = 1; ; ) {
      const page = await (await fetch(`${withKey.url}/egress-log?fromSeq=${from}&limit=2`)).json();
      head = page.head;
      entries.push(...page.entries);
      if (page.entries.length === 0 || entries.length >= head.seq) break;
      from = (entries.at(-1)!.seq as number) + 1;
    }
    let prev = "0".repeat(64);
    for (const entry of entries) {
      const { digest, ...rest } = entry;
      expect(entry.prev).toBe(prev);
      expect(await sha256(bytes(jcs(rest)))).toBe(digest as string);
      prev = digest as string;
    }
    expect(prev).toBe(head.digest);
    for (const e of receipt.egress)
      expect(entries.find((x) => x.seq === e.seq)?.digest).toBe(e.digest);
  });

  test("a call answered inside the TEE has an empty egress list", async () => {
    const request = bytes(
      JSON.stringify({ session_id: crypto.randomUUID(), transcript: "a paper moon" }),
    );
    const res = await fetch(`${offline.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: request,
    });
    expect(res.status).toBe(200);
    expect((await res.json()).provider_used).toBe("local");
    const { receipt } = JSON.parse(
      new TextDecoder().decode(b64url(res.headers.get("auditor-receipt")!)),
    );
    expect(receipt.egress).toEqual([]);
    // ...and the report says why: no upstream is enabled.
    const report = await (await fetch(`${offline.url}/report/etherea`)).json();
    expect(report.functions[0].egress.every((e: { enabled: boolean }) => !e.enabled)).toBe(true);
  });

  test("a short session_id is refused, naming it", async () => {
    const res = await fetch(`${withKey.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ session_id: "room-1", transcript: "x" }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).issues[0].path).toBe("session_id");
  });
});
