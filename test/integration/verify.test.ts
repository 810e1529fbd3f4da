// `auditor verify` against the compiled binary running on the fake dstack guest agent, link by
// link from the quote to the source: it passes when everything is as built and deployed, and
// fails with the named line for each tampering (a modified OS image, another KMS root, an
// image or a binary that is not the one rebuilt from the checkout, and the older ones).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { canonicalJson } from "../../sdk/crypto/canonical-json.ts";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { appCompose } from "../../scripts/app-compose.ts";
import { buildImage, type ImageResult } from "../../scripts/image.ts";
import { runVerify } from "../../src/verify/cli.ts";
import type { VerifyDeps } from "../../src/verify/checks.ts";
import { rebuildFromCheckout, type Rebuilt } from "../../src/verify/source-chain.ts";
import {
  startFakeDstack,
  type FakeDstack,
  type FakeDstackOptions,
} from "../fixtures/fake-dstack.ts";
import {
  runAuditor,
  startAuditor,
  tempDir,
  type AuditorProcess,
} from "../helpers/auditor-process.ts";

const root = join(import.meta.dir, "../..");
const measurementsFile = join(import.meta.dir, "../fixtures/os-measurements.json");
let image: ImageResult;
let binary: string;
let otherBinary: { path: string; sha256: string };
let composeFile: string;
let main: Deployment;

interface Deployment {
  dstack: FakeDstack;
  server: AuditorProcess;
  kid: string;
  close(): Promise<void>;
}

/** A fake CVM: the guest agent (measuring this compose) and the server binary on it. */
async function deploy(
  options: Partial<FakeDstackOptions> = {},
  command = binary,
): Promise<Deployment> {
  const socketPath = join(tempDir(), "dstack.sock");
  const dstack = await startFakeDstack({
    socketPath,
    appCompose: appCompose(root, `auditor@${image.manifestDigest}`),
    ...options,
  });
  const server = await startAuditor({
    command: [command],
    env: {
      AUDITOR_TEE: "dstack",
      DSTACK_SIMULATOR_ENDPOINT: socketPath,
      AUDITOR_CORS_ORIGINS: "https://vj.example",
    },
  });
  const kid = (await (await fetch(`${server.url}/attestation`)).json()).statement.kid;
  return { dstack, server, kid, close: async () => (await server.stop(), await dstack.close()) };
}

// The checkout is rebuilt once, in beforeAll (npm run image in it, as --source does), and
// every --source run reuses that result.
let rebuilt: Rebuilt;
const deps: VerifyDeps = {
  verifyQuoteSignature: async () => {
    throw new Error("the tests run --offline");
  },
  rebuild: async (checkout) => {
    if (checkout !== root) throw new Error(`the tests rebuild only ${root}`);
    return rebuilt;
  },
};

beforeAll(async () => {
  image = await buildImage(root);
  // The server runs a copy: rebuilding the checkout rewrites dist/auditor.
  binary = join(tempDir(), "auditor");
  copyFileSync(join(root, "dist/auditor"), binary);
  // Another binary from the same source, one define apart: what a tampered build would be.
  const other = join(tempDir(), "auditor");
  const built = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "src/main.ts",
      "src/runtime/worker.ts",
      "--compile",
      "--outfile",
      other,
      "--define",
      'AUDITOR_SDK_DTS="tampered"',
    ],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  if (built.exitCode !== 0) throw new Error(built.stderr.toString());
  otherBinary = {
    path: other,
    sha256: createHash("sha256")
      .update(await Bun.file(other).bytes())
      .digest("hex"),
  };
  composeFile = join(tempDir(), "app-compose.json");
  writeFileSync(
    composeFile,
    JSON.stringify(appCompose(root, `auditor@${image.manifestDigest}`), null, 2),
  );
  main = await deploy();
  rebuilt = await rebuildFromCheckout(root);
}, 180_000);
afterAll(async () => {
  await main?.close();
});

const expected = (d: Deployment = main) => [
  "--offline",
  "--binary-sha256",
  image.binarySha256,
  "--app-compose",
  composeFile,
  "--app-id",
  d.dstack.appId,
  "--pin",
  d.kid,
  "--os-measurements",
  measurementsFile,
  // The root the user trusts: the one the genuine deployment's KMS uses.
  "--kms-root",
  main.dstack.kmsRootPublicKey,
];

async function verify(url: string, args: string[]) {
  const out: string[] = [];
  const code = await runVerify(
    [url, ...args, "--json"],
    (t) => out.push(t),
    (t) => out.push(t),
    deps,
  );
  const report = JSON.parse(out.join("\n")) as {
    verified: boolean;
    checks: { name: string; status: string; detail: string }[];
  };
  const status = (name: string) => report.checks.find((c) => c.name === name)?.status;
  return {
    code,
    report,
    status,
    failed: report.checks.filter((c) => c.status === "fail").map((c) => c.name),
  };
}

/** A proxy in front of the server that rewrites one kind of response. */
function tamperingProxy(rewrite: {
  attestation?: (body: any) => void;
  report?: (body: any) => void;
  dropNonce?: boolean;
  sourceFile?: (text: string) => string;
  receipt?: boolean;
}) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (rewrite.dropNonce) url.searchParams.delete("nonce");
      const upstream = await fetch(`${main.server.url}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        body: req.method === "POST" ? await req.arrayBuffer() : undefined,
      });
      if (rewrite.sourceFile && url.pathname === "/source/src/egress/audited-fetch.ts")
        return new Response(rewrite.sourceFile(await upstream.text()), {
          headers: upstream.headers,
        });
      if (rewrite.receipt && url.pathname.startsWith("/invoke/")) {
        // A well-formed receipt for this very call, but signed by a key that is not the server's.
        const headers = new Headers(upstream.headers);
        const signed = JSON.parse(
          Buffer.from(headers.get("auditor-receipt")!, "base64url").toString(),
        );
        const other = await crypto.subtle.generateKey(
          { name: "ECDSA", namedCurve: "P-256" },
          false,
          ["sign"],
        );
        const message = new TextEncoder().encode(
          "auditor-receipt-v1:" + canonicalJson(signed.receipt),
        );
        signed.signature = Buffer.from(
          await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, other.privateKey, message),
        ).toString("base64url");
        headers.set("auditor-receipt", Buffer.from(canonicalJson(signed)).toString("base64url"));
        return new Response(await upstream.arrayBuffer(), { status: upstream.status, headers });
      }
      if (url.pathname !== "/attestation" && !url.pathname.startsWith("/report/")) return upstream;
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
  return createHash("sha384")
    .update(Buffer.concat([type, Buffer.from(`:${name}:`), Buffer.from(payloadHex, "hex")]))
    .digest("hex");
};

describe("auditor verify", () => {
  test("the binary's own subcommand verifies its deployment; the binary digest is only stated without --source", async () => {
    const { stdout, code } = await runAuditor({
      command: [binary],
      args: ["verify", main.server.url, ...expected()],
    });
    expect(code).toBe(0);
    for (const line of [
      "statement bound to the quote",
      "MRTD",
      "RTMR0",
      "RTMR1",
      "RTMR2",
      "event log replays to RTMR3",
      "key provenance (KMS root)",
      "compose hash",
    ]) {
      expect(stdout).toMatch(new RegExp(`^PROVEN   ${line.replace(/[()]/g, "\\$&")}\\s`, "m"));
    }
    // biome-ignore lint/complexity/noAdjacentSpacesInRegex: the CLI pads its columns
    expect(stdout).toMatch(/^STATED   binary digest\s/m);
    // biome-ignore lint/complexity/noAdjacentSpacesInRegex: the CLI pads its columns
    expect(stdout).toMatch(/^SKIPPED  TDX quote \(Intel signature chain\)\s/m);
    // biome-ignore lint/complexity/noAdjacentSpacesInRegex: the CLI pads its columns
    expect(stdout).toMatch(/^SKIPPED  image digest \(rebuilt\)\s/m);
    expect(stdout).not.toMatch(/^PASS/m);
    expect(stdout).toContain("no check failed:");
  });

  test("with --source the whole chain is proven: compose hash → image digest → binary digest", async () => {
    const { code, report } = await verify(main.server.url, [...expected(), "--source", root]);
    expect(code).toBe(0);
    const notProven = report.checks
      .filter((c) => c.status !== "proven")
      .map((c) => `${c.status} ${c.name}`);
    // The quote is unsigned here; the egress log is consistent but only the server's word; no call was made.
    expect(notProven).toEqual([
      "skipped TDX quote (Intel signature chain)",
      "stated egress log chain (GET /egress-log)",
      "skipped receipt",
    ]);
    for (const name of [
      "source commit",
      "source tree (GET /source)",
      "source matches your checkout",
    ])
      expect(report.checks.find((c) => c.name === name)?.status).toBe("proven");
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c.detail]));
    expect(byName["image digest (rebuilt)"]).toContain(image.manifestDigest);
    expect(byName["binary digest"]).toContain(image.binarySha256);
    expect(byName["source commit"]).toMatch(
      /^the statement names [0-9a-f]{40}(-dirty)?, the checkout.s commit/,
    );
  });

  const deployments: [string, Partial<FakeDstackOptions>, string[]][] = [
    [
      "an OS image with another firmware (MRTD)",
      { measurements: { mrtd: "11".repeat(48) } },
      ["MRTD"],
    ],
    [
      "an OS image with other virtual hardware (RTMR0)",
      { measurements: { rtmr0: "22".repeat(48) } },
      ["RTMR0"],
    ],
    [
      "an OS image with another kernel (RTMR1)",
      { measurements: { rtmr1: "33".repeat(48) } },
      ["RTMR1"],
    ],
    [
      "an OS image with another command line or initrd (RTMR2)",
      { measurements: { rtmr2: "44".repeat(48) } },
      ["RTMR2"],
    ],
    [
      "an OS image the measurements file does not know",
      { osImageHash: "ab".repeat(32) },
      ["MRTD", "RTMR0", "RTMR1", "RTMR2"],
    ],
    ["keys from another KMS root", { kmsRootSeed: "another-kms" }, ["key provenance (KMS root)"]],
  ];
  for (const [name, options, failing] of deployments) {
    test(`fails, naming the line: ${name}`, async () => {
      const d = await deploy(options);
      try {
        const { code, failed, report } = await verify(d.server.url, expected(d));
        expect(code).toBe(1);
        expect(failed).toEqual(failing);
        if (options.osImageHash)
          expect(report.checks.find((c) => c.name === "MRTD")!.detail).toContain(
            `unknown OS image ${options.osImageHash}`,
          );
      } finally {
        await d.close();
      }
    });
  }

  test("fails, naming the line: the measured compose runs an image that is not the rebuilt one", async () => {
    const otherImage = `auditor@sha256:${"0".repeat(64)}`;
    const d = await deploy({ appCompose: appCompose(root, otherImage) });
    const file = join(tempDir(), "app-compose.json");
    writeFileSync(file, JSON.stringify(appCompose(root, otherImage)));
    try {
      const args = expected(d).map((v) => (v === composeFile ? file : v));
      const { code, failed, status, report } = await verify(d.server.url, [
        ...args,
        "--source",
        root,
      ]);
      expect(code).toBe(1);
      expect(failed).toEqual(["image digest (rebuilt)"]);
      expect(report.checks.find((c) => c.name === "image digest (rebuilt)")!.detail).toBe(
        `the measured compose runs sha256:${"0".repeat(64)}, the checkout builds ${image.manifestDigest}`,
      );
      expect(status("compose hash")).toBe("proven");
      expect(status("binary digest")).toBe("stated"); // the image does not vouch for it
    } finally {
      await d.close();
    }
  });

  test("fails, naming the line: the measured compose runs the rebuilt image, but another binary answers", async () => {
    const d = await deploy({}, otherBinary.path);
    try {
      const { code, failed, report } = await verify(d.server.url, [
        ...expected(d),
        "--source",
        root,
      ]);
      expect(code).toBe(1);
      expect(failed).toEqual(["binary digest"]);
      expect(report.checks.find((c) => c.name === "binary digest")!.detail).toContain(
        otherBinary.sha256,
      );
      expect(report.checks.find((c) => c.name === "image digest (rebuilt)")!.status).toBe("proven");
    } finally {
      await d.close();
    }
  });

  test("an app-compose.json that is not the measured one cannot vouch for an image", async () => {
    const file = join(tempDir(), "app-compose.json");
    writeFileSync(
      file,
      JSON.stringify({
        ...appCompose(root, `auditor@${image.manifestDigest}`),
        name: "not-deployed",
      }),
    );
    const args = expected().map((v) => (v === composeFile ? file : v));
    const { failed } = await verify(main.server.url, [...args, "--source", root]);
    expect(failed).toEqual(["compose hash", "image digest (rebuilt)"]);
  });

  const tamperings: [
    string,
    Parameters<typeof tamperingProxy>[0] | undefined,
    (args: string[]) => string[],
    string[],
  ][] = [
    [
      "a statement field changed in transit",
      { attestation: (b) => (b.statement.binarySha256 = "0".repeat(64)) },
      (a) => a,
      ["statement bound to the quote", "binary digest", "report /report/etherea bound"],
    ],
    [
      "the quote's report data changed",
      {
        attestation: (b) =>
          (b.quote = b.quote.slice(0, (48 + 520) * 2) + "ff" + b.quote.slice((48 + 520) * 2 + 2)),
      },
      (a) => a,
      ["statement bound to the quote"],
    ],
    [
      "an event digest forged",
      {
        attestation: (b) => {
          const log = JSON.parse(b.eventLog);
          log[2].digest = "ab".repeat(48);
          b.eventLog = JSON.stringify(log);
        },
      },
      (a) => a,
      [
        "event log replays to RTMR3",
        "statement app-id is the measured one",
        "statement compose-hash is the measured one",
        "key provenance (KMS root)",
      ],
    ],
    [
      "the compose-hash event rewritten with a matching digest",
      {
        attestation: (b) => {
          const log = JSON.parse(b.eventLog);
          log[2].event_payload = "cd".repeat(32);
          log[2].digest = runtimeDigest("compose-hash", log[2].event_payload);
          b.eventLog = JSON.stringify(log);
        },
      },
      (a) => a,
      [
        "event log replays to RTMR3",
        "statement app-id is the measured one",
        "statement compose-hash is the measured one",
        "key provenance (KMS root)",
      ],
    ],
    [
      "vm_config naming another OS image",
      {
        attestation: (b) =>
          (b.vmConfig = JSON.stringify({
            ...JSON.parse(b.vmConfig),
            os_image_hash: "cd".repeat(32),
          })),
      },
      (a) => a,
      ["MRTD", "RTMR0", "RTMR1", "RTMR2"],
    ],
    [
      "a key chain swapped for another path's",
      {
        attestation: (b) =>
          (b.keyProvenance["auditor/identity/v1"].publicKey =
            b.keyProvenance["auditor/invoke/v1"].publicKey),
      },
      (a) => a,
      ["key provenance (KMS root)"],
    ],
    [
      "a replayed statement (no fresh nonce)",
      { dropNonce: true },
      (a) => a,
      ["fresh statement", "report /report/etherea bound"],
    ],
    [
      "the report edited after binding",
      { report: (b) => (b.functions[0].egress[0].host = "collector.evil.example") },
      (a) => a,
      ["report /report/etherea bound"],
    ],
    [
      "a served source file that is not the listed one",
      { sourceFile: (text) => text.replace("audited", "unaudited") },
      (a) => a,
      ["source tree (GET /source)"],
    ],
    [
      "a receipt signed by another key",
      { receipt: true },
      (a) => [
        ...a,
        "--invoke",
        "generate-prompt",
        "--input",
        JSON.stringify({ session_id: crypto.randomUUID(), transcript: "x" }),
      ],
      ["receipt"],
    ],
    [
      "a binary other than the one you built",
      undefined,
      (a) => a.map((v) => (v === image.binarySha256 ? "1".repeat(64) : v)),
      ["binary digest"],
    ],
    [
      "a compose file other than the one you deployed",
      undefined,
      (a) => [
        ...a.filter((v, i) => v !== "--app-compose" && a[i - 1] !== "--app-compose"),
        "--compose-hash",
        "2".repeat(64),
      ],
      ["compose hash"],
    ],
    [
      "another app id",
      undefined,
      (a) => a.map((v) => (v === main.dstack.appId ? "3".repeat(40) : v)),
      ["app id"],
    ],
    [
      "an identity key you did not pin",
      undefined,
      (a) => a.map((v) => (v === main.kid ? "AAAAAAAAAAAAAAAA" : v)),
      ["identity key pinned"],
    ],
  ];
  for (const [name, rewrite, args, failing] of tamperings) {
    test(`fails, naming why: ${name}`, async () => {
      const proxy = rewrite ? tamperingProxy(rewrite) : undefined;
      try {
        const { code, failed } = await verify(
          proxy ? `http://127.0.0.1:${proxy.port}` : main.server.url,
          args(expected()),
        );
        expect(code).toBe(1);
        expect(failed).toEqual(failing);
      } finally {
        proxy?.stop(true);
      }
    });
  }

  test("without --os-measurements or --kms-root those lines are skipped saying why, never proven", async () => {
    const args = expected().filter(
      (v, i, all) =>
        !["--os-measurements", "--kms-root"].includes(v) &&
        !["--os-measurements", "--kms-root"].includes(all[i - 1]!),
    );
    const { code, report } = await verify(main.server.url, args);
    expect(code).toBe(0);
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    for (const name of ["MRTD", "RTMR0", "RTMR1", "RTMR2"]) {
      expect(byName[name]!.status).toBe("skipped");
      expect(byName[name]!.detail).toContain("dstack publishes no table of these values");
    }
    expect(byName["key provenance (KMS root)"]!.status).toBe("skipped");
    expect(byName["key provenance (KMS root)"]!.detail).toContain(main.dstack.kmsRootPublicKey);
  });

  test("--kms-root also takes the root's Ethereum address", async () => {
    const { secp256k1 } = await import("@noble/curves/secp256k1");
    const { keccak_256 } = await import("@noble/hashes/sha3");
    const point = secp256k1.ProjectivePoint.fromHex(main.dstack.kmsRootPublicKey).toRawBytes(false);
    const address = `0x${Buffer.from(keccak_256(point.subarray(1)).subarray(12)).toString("hex")}`;
    const args = expected().map((v) => (v === main.dstack.kmsRootPublicKey ? address : v));
    expect((await verify(main.server.url, args)).status("key provenance (KMS root)")).toBe(
      "proven",
    );
  });

  test("online, an unsigned (fake) quote fails the Intel signature check", async () => {
    const out: string[] = [];
    await runVerify(
      [
        main.server.url,
        ...expected().filter((a) => a !== "--offline"),
        "--pccs-url",
        "http://127.0.0.1:9/",
        "--json",
      ],
      (t) => out.push(t),
      () => {},
    );
    const failed = JSON.parse(out.join(""))
      .checks.filter((c: { status: string }) => c.status === "fail")
      .map((c: { name: string }) => c.name);
    expect(failed).toEqual(["TDX quote (Intel signature chain)"]);
  });

  test("a dev server has no quote: not verified, and every line leaning on a quote says so", async () => {
    const dev = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
    try {
      const { code, failed, report } = await verify(dev.url, [
        "--offline",
        "--os-measurements",
        measurementsFile,
      ]);
      expect(code).toBe(1);
      expect(failed).toEqual([
        "TDX quote (Intel signature chain)",
        "app id",
        "compose hash",
        "binary digest",
      ]);
      const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
      expect(byName["TDX quote (Intel signature chain)"]!.detail).toStartWith("not attested");
      expect(byName["key provenance (KMS root)"]).toMatchObject({
        status: "skipped",
        detail: "not attested: the dev provider's keys come from no KMS",
      });
      expect(byName["fresh statement"]!.status).toBe("stated");
      // biome-ignore lint/complexity/useLiteralKeys: keyed like its neighbours, whose names have spaces
      expect(byName["MRTD"]!.status).toBe("skipped");
      expect(report.checks.some((c) => c.status === "proven")).toBe(false);
    } finally {
      await dev.stop();
    }
  });

  test("bad arguments are a usage error (exit 2) naming the argument", async () => {
    const cases: [string[], string][] = [
      [["not a url"], "url"],
      [[main.server.url, "--binary-sha256", "xyz"], "binarySha256"],
      [[main.server.url, "--kms-root", "03abcd"], "kmsRoot"],
      [[main.server.url, "--os-measurements", join(tempDir(), "absent.json")], "--os-measurements"],
    ];
    const bad = join(tempDir(), "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({
        v: 1,
        images: [{ os_image_hash: "00".repeat(32), mrtd: "00", rtmr0: "", rtmr1: "", rtmr2: "" }],
      }),
    );
    cases.push([
      [main.server.url, "--os-measurements", bad],
      "images.0.mrtd: must be 48 bytes as hex",
    ]);
    for (const [args, named] of cases) {
      const err: string[] = [];
      expect(
        await runVerify(
          args,
          () => {},
          (t) => err.push(t),
          deps,
        ),
      ).toBe(2);
      expect(err.join("")).toContain(named);
    }
  });
});
