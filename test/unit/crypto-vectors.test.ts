// Known-answer tests against published vectors, shipped as fixtures (test/fixtures/vectors:
// byte-exact excerpts of Debian's python3-cryptography-vectors, sources and licence beside
// them): RFC 5869 HKDF-SHA256, NIST CAVS AES-256-GCM encrypt and decrypt (with the FAIL cases),
// NIST KAS ECC P-256 ZZ-only (valid and invalid cases), NIST ECDSA P-256 SHA-256 SigVer. The
// same primitives run the session handshake, envelopes and sealed invokes.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { p256 } from "@noble/curves/p256";
import { aesGcmOpen, aesGcmSeal, DecryptError } from "../../sdk/crypto/aes-gcm.ts";
import { concatBytes, fromHex, toHex } from "../../sdk/crypto/encoding.ts";
import { deriveSharedX, importEcdhPrivateKey, verifyP256 } from "../../sdk/crypto/p256.ts";

const VECTORS = join(import.meta.dir, "../fixtures/vectors");

interface Excerpt {
  fixture: string;
  sha256: string;
  source: string;
  sourceSha256: string;
  sourceBytes: number;
  /** 1-based inclusive line ranges of the source file, in order. */
  lines: [number, number][];
}
const SOURCES = JSON.parse(readFileSync(join(VECTORS, "sources.json"), "utf8")) as {
  root: string;
  version: string;
  files: Excerpt[];
};

const vectorBytes = (name: string) => readFileSync(join(VECTORS, name));
const vectorFile = (name: string) => vectorBytes(name).toString("utf8");
const sha256Hex = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

describe("the vector fixtures", () => {
  test("each is the excerpt sources.json names, byte for byte (CRLF kept)", () => {
    expect(SOURCES.files.map((f) => f.fixture).sort()).toEqual([
      "KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_init.fax",
      "SigVer.rsp",
      "gcmDecrypt256.rsp",
      "gcmEncryptExtIV256.rsp",
      "rfc-5869-HKDF-SHA256.txt",
    ]);
    for (const file of SOURCES.files)
      expect(sha256Hex(vectorBytes(file.fixture))).toBe(file.sha256);
  });

  // Only where Debian's package is installed (CI no longer installs it): proves the excerpts
  // are cut from the published files, not re-typed.
  const installed = existsSync(SOURCES.root);
  test.skipIf(!installed)(
    `they are cut from python3-cryptography-vectors ${SOURCES.version}`,
    () => {
      for (const file of SOURCES.files) {
        const source = readFileSync(join(SOURCES.root, file.source));
        expect(source.length).toBe(file.sourceBytes);
        expect(sha256Hex(source)).toBe(file.sourceSha256);
        const lines = source.toString("latin1").split(/(?<=\n)/);
        const excerpt = file.lines.map(([first, last]) => lines.slice(first - 1, last).join(""));
        expect(Buffer.from(excerpt.join(""), "latin1").equals(vectorBytes(file.fixture))).toBe(
          true,
        );
      }
    },
  );
});

type Block = Record<string, string> & { flags: string[] };

/** `Key = value` records starting at each line that matches `start`; bare words (FAIL) go to flags. */
function parseRecords(text: string, start: RegExp): Block[] {
  const blocks: Block[] = [];
  let current: Block | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("[")) continue;
    if (start.test(line)) blocks.push((current = { flags: [] } as unknown as Block));
    if (!current) continue;
    const eq = line.indexOf("=");
    if (eq === -1) current.flags.push(line);
    else current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return blocks;
}

describe("HKDF-SHA256 (RFC 5869 appendix A)", () => {
  const cases = parseRecords(vectorFile("rfc-5869-HKDF-SHA256.txt"), /^COUNT = /);
  test(`${cases.length} cases`, () => {
    expect(cases.length).toBe(3);
    for (const c of cases)
      expect(
        toHex(
          hkdf(sha256, fromHex(c.IKM!), fromHex(c.salt ?? ""), fromHex(c.info ?? ""), Number(c.L)),
        ),
      ).toBe(c.OKM!);
  });
});

/** GCM records with a 96-bit IV and a 128-bit tag: what the protocol uses. */
function gcmBlocks(file: string): Block[] {
  const out: Block[] = [];
  let ivBits = 0;
  let tagBits = 0;
  for (const chunk of vectorFile(file).split(/(?=^\[Keylen)/m)) {
    ivBits = Number(/\[IVlen = (\d+)\]/.exec(chunk)?.[1] ?? ivBits);
    tagBits = Number(/\[Taglen = (\d+)\]/.exec(chunk)?.[1] ?? tagBits);
    if (ivBits === 96 && tagBits === 128) out.push(...parseRecords(chunk, /^Count = /));
  }
  return out;
}

describe("AES-256-GCM (NIST CAVS gcmEncryptExtIV256 / gcmDecrypt256)", () => {
  test("encrypt", async () => {
    const cases = gcmBlocks("gcmEncryptExtIV256.rsp");
    expect(cases.length).toBe(375);
    for (const c of cases) {
      const sealed = await aesGcmSeal(
        fromHex(c.Key!),
        fromHex(c.IV!),
        fromHex(c.PT ?? ""),
        fromHex(c.AAD ?? ""),
      );
      expect(toHex(sealed)).toBe(c.CT! + c.Tag!);
    }
  });

  test("decrypt, refusing every FAIL case with the one uniform error", async () => {
    const cases = gcmBlocks("gcmDecrypt256.rsp");
    expect(cases.length).toBe(375);
    const fails = cases.filter((c) => c.flags.includes("FAIL"));
    expect(fails.length).toBeGreaterThan(10);
    for (const c of cases) {
      const opened = aesGcmOpen(
        fromHex(c.Key!),
        fromHex(c.IV!),
        concatBytes(fromHex(c.CT ?? ""), fromHex(c.Tag!)),
        fromHex(c.AAD ?? ""),
      );
      if (c.flags.includes("FAIL")) await expect(opened).rejects.toBeInstanceOf(DecryptError);
      else expect(toHex(await opened)).toBe(c.PT ?? "");
    }
  });
});

describe("P-256 ECDH (NIST KAS ECC ZZ-only, initiator, P-256)", () => {
  test("valid cases give Z; every invalid case is refused or mismatches", async () => {
    // The fixture keeps only the P-256 section ([EC - SHA256]) after the header.
    const text = vectorFile("KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_init.fax");
    const section = text.slice(text.indexOf("[EC - SHA256]"));
    const cases = parseRecords(section, /^COUNT = /);
    expect(cases.length).toBeGreaterThan(10);
    let invalid = 0;
    for (const c of cases) {
      const peer = fromHex(`04${c.QsCAVSx}${c.QsCAVSy}`);
      const ourPublic = p256.getPublicKey(fromHex(c.dsIUT!), false);
      let z: string | undefined;
      try {
        z = toHex(
          await deriveSharedX(
            await importEcdhPrivateKey({ privateKey: fromHex(c.dsIUT!), publicKey: ourPublic }),
            peer,
          ),
        );
      } catch {
        z = undefined; // refused: the peer key failed validation
      }
      const agrees = z === c.Z && toHex(ourPublic) === `04${c.QsIUTx}${c.QsIUTy}`;
      if (c.Result!.startsWith("P")) expect(agrees).toBe(true);
      else {
        invalid++;
        expect(agrees).toBe(false);
      }
    }
    expect(invalid).toBeGreaterThan(5);
  });
});

describe("ECDSA P-256 SHA-256 (NIST FIPS 186-3 SigVer)", () => {
  test("accepts the valid signatures and rejects the rest", async () => {
    // The fixture keeps only the [P-256,SHA-256] section after the header.
    const text = vectorFile("SigVer.rsp");
    const section = text.slice(text.indexOf("[P-256,SHA-256]"));
    const cases = parseRecords(section, /^Msg = /);
    expect(cases.length).toBe(15);
    for (const c of cases) {
      const signature = concatBytes(
        fromHex(c.R!.padStart(64, "0")),
        fromHex(c.S!.padStart(64, "0")),
      );
      const publicKey = fromHex(`04${c.Qx!.padStart(64, "0")}${c.Qy!.padStart(64, "0")}`);
      expect(await verifyP256(signature, fromHex(c.Msg!), publicKey)).toBe(
        c.Result!.startsWith("P"),
      );
    }
  });
});
