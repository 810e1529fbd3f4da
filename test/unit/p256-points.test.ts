// Point validation (sdk/crypto/p256.ts) without an elliptic-curve library: every key a peer
// sends passes through it, so it must refuse exactly what @noble/curves refuses (the reference
// here) and accept exactly what it accepts, hostile encodings included.
import { describe, expect, test } from "bun:test";
import { p256 } from "@noble/curves/p256";
import fc from "fast-check";
import { fromHex, toHex } from "../../sdk/crypto/encoding.ts";
import { InvalidPublicKeyError, validatePublicKey } from "../../sdk/crypto/p256.ts";

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const hex32 = (n: bigint) => n.toString(16).padStart(64, "0");
const point = (x: bigint, y: bigint) => fromHex(`04${hex32(x)}${hex32(y)}`);

/** What noble says about the same bytes. */
function nobleAccepts(bytes: Uint8Array): boolean {
  try {
    const q = p256.ProjectivePoint.fromHex(bytes);
    q.assertValidity();
    return bytes.length === 65 && bytes[0] === 0x04 && !q.equals(p256.ProjectivePoint.ZERO);
  } catch {
    return false;
  }
}

const accepts = (bytes: Uint8Array) => {
  try {
    return validatePublicKey(bytes) === bytes;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidPublicKeyError);
    return false;
  }
};

describe("P-256 public key validation", () => {
  const G = p256.ProjectivePoint.BASE.toAffine();
  /** The point with the smallest x: x + p still fits in 32 bytes. */
  const small = (() => {
    for (let x = 0n; ; x++) {
      try {
        return p256.ProjectivePoint.fromHex(`02${hex32(x)}`).toAffine();
      } catch {
        // no point with this x
      }
    }
  })();

  test("real keys are accepted: the generator, WebCrypto's and noble's", async () => {
    expect(accepts(point(G.x, G.y))).toBe(true);
    const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ])) as CryptoKeyPair;
    expect(accepts(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)))).toBe(
      true,
    );
    expect(accepts(p256.getPublicKey(p256.utils.randomPrivateKey(), false))).toBe(true);
  });

  test("hostile encodings are refused, each as noble refuses it", () => {
    const hostile: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["the SEC1 identity (one zero byte)", new Uint8Array(1)],
      ["all zeros, uncompressed", Uint8Array.from([4, ...new Uint8Array(64)])],
      ["compressed generator", p256.ProjectivePoint.BASE.toRawBytes(true)],
      ["hybrid prefix 0x06", Uint8Array.from([0x06, ...point(G.x, G.y).subarray(1)])],
      ["prefix 0x05", Uint8Array.from([0x05, ...point(G.x, G.y).subarray(1)])],
      ["one byte short", point(G.x, G.y).subarray(0, 64)],
      ["one byte long", Uint8Array.from([...point(G.x, G.y), 0])],
      ["off the curve (y + 1)", point(G.x, (G.y + 1n) % P)],
      ["off the curve (0, 1)", point(0n, 1n)],
      [
        "a real point with x spelt as x + p (another spelling of one key)",
        point(small.x + P, small.y),
      ],
      ["x = p", point(P, G.y)],
      ["y = p", point(G.x, P)],
      ["all 0xff", Uint8Array.from([4, ...new Uint8Array(64).fill(0xff)])],
    ];
    expect(accepts(point(small.x, small.y))).toBe(true);
    for (const [name, bytes] of hostile) {
      expect({ name, ours: accepts(bytes), noble: nobleAccepts(bytes) }).toEqual({
        name,
        ours: false,
        noble: false,
      });
    }
  });

  test("on random points and random bytes it agrees with @noble/curves", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: p256.CURVE.n - 1n }), (k) => {
        const bytes = p256.ProjectivePoint.BASE.multiply(k).toRawBytes(false);
        return accepts(bytes) && nobleAccepts(bytes);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.boolean(), (tail, negate) => {
        // Random coordinates, and random x with its real y (when x is on the curve) flipped or not.
        const raw = Uint8Array.from([4, ...tail]);
        const x = BigInt(`0x${toHex(tail.subarray(0, 32))}`) % P;
        let onCurve: Uint8Array | undefined;
        try {
          const q = p256.ProjectivePoint.fromHex(`02${hex32(x)}`).toAffine();
          onCurve = point(q.x, negate ? P - q.y : q.y);
        } catch {
          // no point with this x
        }
        return (
          accepts(raw) === nobleAccepts(raw) &&
          (!onCurve || (accepts(onCurve) && nobleAccepts(onCurve)))
        );
      }),
      { numRuns: 500 },
    );
  });
});
