// The KMS signature chain check against hostile chains: wrong lengths, bad recovery ids,
// another app id, a swapped public key; and the KMS root forms a verifier may hold.
import { describe, expect, test } from "bun:test";
import { secp256k1 } from "@noble/curves/secp256k1";
import {
  appKeyMessage,
  ethereumAddress,
  kmsIssuedMessage,
  parseKmsRoot,
  recoverChain,
  rootMatches,
} from "../../sdk/verify/key-provenance.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sign = (digest: Uint8Array, key: Uint8Array) => {
  const s = secp256k1.sign(digest, key);
  return hex(s.toCompactRawBytes()) + s.recovery.toString(16).padStart(2, "0");
};
const root = secp256k1.utils.randomPrivateKey();
const app = secp256k1.utils.randomPrivateKey();
const derived = secp256k1.utils.randomPrivateKey();
const appId = "ab".repeat(20);
const publicKey = hex(secp256k1.getPublicKey(derived, true));
const chain = [
  sign(appKeyMessage("auditor", publicKey), app),
  sign(kmsIssuedMessage(Buffer.from(appId, "hex"), secp256k1.getPublicKey(app, true)), root),
];
const entry = { purpose: "auditor", publicKey, signatureChain: chain };

describe("KMS key provenance", () => {
  test("a genuine chain recovers the app key and the root", () => {
    expect(recoverChain(entry, appId)).toEqual({
      ok: true,
      appKey: hex(secp256k1.getPublicKey(app, true)),
      kmsRoot: hex(secp256k1.getPublicKey(root, true)),
    });
  });

  test("another app id, purpose or public key recovers another root, never this one", () => {
    const trusted = parseKmsRoot(hex(secp256k1.getPublicKey(root, true)));
    for (const [e, id] of [
      [entry, "cd".repeat(20)],
      [{ ...entry, purpose: "other" }, appId],
      [{ ...entry, publicKey: hex(secp256k1.getPublicKey(app, true)) }, appId],
    ] as const) {
      const result = recoverChain(e, id);
      if (result.ok) expect(rootMatches(result.kmsRoot, trusted)).toBe(false);
    }
  });

  test("malformed chains are a clear reason, never a throw", () => {
    const bad: [string[], RegExp][] = [
      [[], /0 signatures, expected 2/],
      [[chain[0]!], /1 signatures/],
      [[chain[0]!, chain[1]!, chain[1]!], /3 signatures/],
      [[chain[0]!.slice(0, 128), chain[1]!], /64 bytes, expected 65/],
      [[chain[0]!.slice(0, 128) + "09", chain[1]!], /recovery id 9 is out of range/],
      [["zz".repeat(65), chain[1]!], /cannot be read: .*hex/i],
      [["00".repeat(65), chain[1]!], /cannot be read/],
    ];
    for (const [signatureChain, reason] of bad) {
      const result = recoverChain({ ...entry, signatureChain }, appId);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(reason);
    }
  });

  test("a root is a 33- or 65-byte public key or a 20-byte address; anything else is refused", () => {
    const compressed = secp256k1.getPublicKey(root, true);
    const found = hex(compressed);
    expect(rootMatches(found, parseKmsRoot(hex(secp256k1.getPublicKey(root, false))))).toBe(true);
    expect(rootMatches(found, parseKmsRoot(`0x${hex(ethereumAddress(compressed))}`))).toBe(true);
    expect(() => parseKmsRoot("03abcd")).toThrow(/33- or 65-byte/);
    expect(() => parseKmsRoot(`02${"00".repeat(32)}`)).toThrow();
  });
});
