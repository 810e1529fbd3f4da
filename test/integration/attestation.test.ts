// /attestation against the real dstack SDK talking to the fake guest agent, and the dev provider.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { p256 } from "@noble/curves/p256";
import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak_256 } from "@noble/hashes/sha3";
import { startFakeDstack, type FakeDstack } from "../fixtures/fake-dstack.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";
import {
  AttestationResponseSchema,
  DstackVerifierInputSchema,
  type AttestationResponse,
} from "../../sdk/wire/attestation.ts";
import { parseTdxQuote } from "../../sdk/verify/tdx-quote.ts";

/** An independent canonical form (sorted keys, no spaces), written apart from sdk/crypto. */
function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value));
}

function expectedReportData(statement: unknown): string {
  return createHash("sha512")
    .update("auditor-attestation-v1:" + sortedJson(statement))
    .digest("hex");
}

async function getAttestation(base: string, query = ""): Promise<AttestationResponse> {
  const res = await fetch(`${base}/attestation${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  return AttestationResponseSchema.parse(await res.json());
}

/** Recovers a 65-byte r‖s‖v signature's signer, written apart from sdk/verify. */
function signer(signatureHex: string, message: Uint8Array): string {
  const sig = Buffer.from(signatureHex, "hex");
  return secp256k1.Signature.fromCompact(sig.subarray(0, 64))
    .addRecoveryBit(sig[64]!)
    .recoverPublicKey(keccak_256(message))
    .toHex(true);
}

describe("dstack provider (real SDK, fake guest agent)", () => {
  let fake: FakeDstack;
  let server: AuditorProcess;
  const dir = tempDir();
  const socketPath = join(dir, "dstack.sock");
  const env = { AUDITOR_TEE: "dstack", DSTACK_SIMULATOR_ENDPOINT: socketPath };

  beforeAll(async () => {
    fake = await startFakeDstack({ socketPath, seed: "app-one" });
    server = await startAuditor({ env });
  });
  afterAll(async () => {
    await server?.stop();
    await fake?.close();
  });

  test("start-up tells people, on stderr, the VJ page's URL and that it is attested", async () => {
    for (let i = 0; i < 500 && !server.stderr().includes("auditor: serving"); i++)
      await Bun.sleep(10);
    expect(server.stderr()).toContain(
      `auditor: serving ETHEREA at ${server.url}/ (attested: Intel TDX quote, dstack app ${fake.appId})\n`,
    );
  });

  test("the quote's report data is SHA-512 of the domain-separated canonical statement", async () => {
    const body = await getAttestation(server.url);
    expect(body.attested).toBe(true);
    expect(body.statement.tee).toEqual({
      provider: "dstack",
      appId: fake.appId,
      composeHash: fake.composeHash,
      instanceId: fake.instanceId,
    });
    const quote = parseTdxQuote(body.quote!);
    expect(Buffer.from(quote.reportData).toString("hex")).toBe(expectedReportData(body.statement));
  });

  test("a nonce goes into the statement and so into a fresh quote", async () => {
    const nonce = createHash("sha256").update("verifier").digest("hex");
    const body = await getAttestation(server.url, `?nonce=${nonce}`);
    expect(body.statement.nonce).toBe(nonce);
    expect(Buffer.from(parseTdxQuote(body.quote!).reportData).toString("hex")).toBe(
      expectedReportData(body.statement),
    );
    const plain = await getAttestation(server.url);
    expect(plain.quote).not.toBe(body.quote);
  });

  test("the event log replays to the quote's RTMR3 and carries the compose hash", async () => {
    const body = await getAttestation(server.url);
    const events = JSON.parse(body.eventLog!) as {
      imr: number;
      digest: string;
      event: string;
      event_payload: string;
    }[];
    let mr = Buffer.alloc(48);
    for (const e of events.filter((e) => e.imr === 3))
      mr = createHash("sha384")
        .update(Buffer.concat([mr, Buffer.from(e.digest, "hex")]))
        .digest();
    expect(mr.toString("hex")).toBe(parseTdxQuote(body.quote!).rtmr[3]);
    expect(events.find((e) => e.event === "compose-hash")?.event_payload).toBe(
      body.statement.tee.composeHash!,
    );
  });

  test("keys are valid P-256 points and the kid matches the identity key", async () => {
    const { statement } = await getAttestation(server.url);
    const identity = Buffer.from(statement.identityKey, "base64url");
    expect(() => p256.ProjectivePoint.fromHex(identity).assertValidity()).not.toThrow();
    expect(() =>
      p256.ProjectivePoint.fromHex(Buffer.from(statement.invokeKey, "base64url")).assertValidity(),
    ).not.toThrow();
    expect(statement.kid).toBe(
      createHash("sha256").update(identity).digest("base64url").slice(0, 16),
    );
    expect(statement.binarySha256).toBeNull(); // running from source
  });

  test("vmConfig is GetQuote's vm_config verbatim, naming the OS image", async () => {
    const body = await getAttestation(server.url);
    expect(body.vmConfig).toBe(fake.vmConfig);
    expect(JSON.parse(body.vmConfig!).os_image_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("keyProvenance holds each key path's signature chain, which ends in the KMS root", async () => {
    const { keyProvenance, statement } = await getAttestation(server.url);
    expect(Object.keys(keyProvenance!).sort()).toEqual([
      "auditor/identity/v1",
      "auditor/invoke/v1",
      "auditor/sealing/v1",
    ]);
    const appKeys = new Set<string>();
    for (const entry of Object.values(keyProvenance!)) {
      expect(entry.purpose).toBe("auditor");
      expect(entry.signatureChain).toHaveLength(2);
      // dstack: the app key signs "purpose:pubkeyhex"; the KMS root signs
      // "dstack-kms-issued:" ‖ app id ‖ app key.
      const appKey = signer(
        entry.signatureChain[0]!,
        Buffer.from(`${entry.purpose}:${entry.publicKey}`),
      );
      const issued = Buffer.concat([
        Buffer.from("dstack-kms-issued:"),
        Buffer.from(statement.tee.appId!, "hex"),
        Buffer.from(appKey, "hex"),
      ]);
      expect(signer(entry.signatureChain[1]!, issued)).toBe(fake.kmsRootPublicKey);
      appKeys.add(appKey);
    }
    expect(appKeys.size).toBe(1); // one app key for the app, three derived keys
    expect(new Set(Object.values(keyProvenance!).map((e) => e.publicKey)).size).toBe(3);
  });

  test("?format=dstack answers dstack-verifier's input shape for the same quote", async () => {
    const res = await fetch(`${server.url}/attestation?format=dstack&nonce=0abc`);
    expect(res.status).toBe(200);
    const input = DstackVerifierInputSchema.parse(await res.json());
    expect(input.vm_config).toBe(fake.vmConfig);
    expect(
      JSON.parse(input.event_log).some((e: { event: string }) => e.event === "compose-hash"),
    ).toBe(true);
    expect(parseTdxQuote(input.quote).rtmr[3]).toMatch(/^[0-9a-f]{96}$/);
    for (const bad of ["json", "DSTACK", ""]) {
      const refused = await fetch(`${server.url}/attestation?format=${bad}`);
      expect(refused.status).toBe(400);
      expect((await refused.json()).message).toStartWith("format:");
    }
    expect((await fetch(`${server.url}/attestation?format=dstack&format=auditor`)).status).toBe(
      400,
    );
  });

  test("bad nonces are refused with 400 and a message naming the field", async () => {
    for (const bad of ["abc", "zz", "", "a".repeat(66), "00%2000", "ab&nonce=cd"]) {
      const res = await fetch(`${server.url}/attestation?nonce=${bad}`);
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error).toBe("bad_request");
      expect(body.message).toStartWith("nonce:");
    }
  });

  test("the same TEE key material gives the same keys after a restart; another app's does not", async () => {
    const before = (await getAttestation(server.url)).statement;
    const again = await startAuditor({ env });
    try {
      const after = (await getAttestation(again.url)).statement;
      expect(after.identityKey).toBe(before.identityKey);
      expect(after.invokeKey).toBe(before.invokeKey);
    } finally {
      await again.stop();
    }
    const otherSocket = join(dir, "other.sock");
    const other = await startFakeDstack({ socketPath: otherSocket, seed: "app-two" });
    const otherServer = await startAuditor({
      env: { ...env, DSTACK_SIMULATOR_ENDPOINT: otherSocket },
    });
    try {
      const statement = (await getAttestation(otherServer.url)).statement;
      expect(statement.identityKey).not.toBe(before.identityKey);
      expect(statement.invokeKey).not.toBe(before.invokeKey);
    } finally {
      await otherServer.stop();
      await other.close();
    }
  });

  test("the SDK asked the guest agent for the three versioned key paths, and quotes with 64 bytes", () => {
    const keyPaths = fake.calls
      .filter((c) => c.rpc === "/GetKey")
      .map((c) => (c.body as { path: string }).path);
    expect([...new Set(keyPaths)].sort()).toEqual([
      "auditor/identity/v1",
      "auditor/invoke/v1",
      "auditor/sealing/v1",
    ]);
    expect(fake.calls.some((c) => c.rpc === "/Info")).toBe(true);
    for (const call of fake.calls.filter((c) => c.rpc === "/GetQuote")) {
      expect((call.body as { report_data: string }).report_data).toMatch(/^[0-9a-f]{128}$/);
    }
  });

  test("a guest agent that goes away gives 503, not a crash, and the server recovers", async () => {
    const socket = join(dir, "flaky.sock");
    const flaky = await startFakeDstack({ socketPath: socket, seed: "flaky" });
    const s = await startAuditor({ env: { ...env, DSTACK_SIMULATOR_ENDPOINT: socket } });
    try {
      await flaky.close();
      const res = await fetch(`${s.url}/attestation?nonce=00`);
      expect(res.status).toBe(503);
      expect((await res.json()).error).toBe("attestation_unavailable");
      const back = await startFakeDstack({ socketPath: socket, seed: "flaky" });
      expect((await fetch(`${s.url}/attestation?nonce=00`)).status).toBe(200);
      await back.close();
    } finally {
      await s.stop();
    }
  });
});

describe("dev provider", () => {
  test("says attested: false, has no quote, and keeps its keys across restarts", async () => {
    const dataDir = tempDir();
    const first = await startAuditor({ dataDir, env: { AUDITOR_TEE: "dev" } });
    const a = await getAttestation(first.url);
    await first.stop();
    expect(a.attested).toBe(false);
    expect(a.quote).toBeUndefined();
    expect(a.vmConfig).toBeNull();
    expect(a.keyProvenance).toBeNull();
    expect(a.statement.tee).toEqual({
      provider: "dev",
      appId: null,
      composeHash: null,
      instanceId: null,
    });

    const second = await startAuditor({ dataDir, env: { AUDITOR_TEE: "dev" } });
    const b = await getAttestation(second.url, "?nonce=0a0b");
    await second.stop();
    expect(b.statement.identityKey).toBe(a.statement.identityKey);
    expect(b.statement.invokeKey).toBe(a.statement.invokeKey);
    expect(b.statement.nonce).toBe("0a0b");

    const elsewhere = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
    const c = await getAttestation(elsewhere.url);
    await elsewhere.stop();
    expect(c.statement.identityKey).not.toBe(a.statement.identityKey);
  });

  test("?format=dstack says plainly that there is nothing to verify", async () => {
    const s = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
    try {
      const res = await fetch(`${s.url}/attestation?format=dstack`);
      expect(res.status).toBe(409);
      expect(await res.json()).toEqual({
        error: "not_attested",
        message: "not attested: the dev provider has no TDX quote and no vm_config",
      });
    } finally {
      await s.stop();
    }
  });

  test("is chosen when AUDITOR_TEE is unset and no dstack socket exists", async () => {
    const s = await startAuditor({
      env: { DSTACK_SIMULATOR_ENDPOINT: join(tempDir(), "absent.sock") },
    });
    try {
      expect((await getAttestation(s.url)).statement.tee.provider).toBe("dev");
    } finally {
      await s.stop();
    }
  });
});
