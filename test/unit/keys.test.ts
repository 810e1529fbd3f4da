import { describe, expect, test } from "bun:test";
import { p256 } from "@noble/curves/p256";
import { createHash } from "node:crypto";
import { keyId } from "../../sdk/crypto/keys.ts";
import { deriveP256KeyPair, deriveSymmetricKey } from "../../src/crypto/keys.ts";
import {
  agreeEphemeralNative,
  deriveP256KeyPairNative,
  hkdfSha256Native,
  signP256Native,
} from "../../src/crypto/native-keys.ts";
import { agreeEphemeral, deriveSharedX, InvalidPublicKeyError } from "../../sdk/crypto/p256.ts";
import { deriveSessionKeys } from "../../sdk/crypto/handshake.ts";
import { deriveTeeKeys, KEY_PATHS } from "../../src/tee/keys.ts";

const material = new Uint8Array(32).fill(7);

describe("key derivation", () => {
  test("is deterministic: same material and label give the same key", () => {
    expect(deriveP256KeyPair(material, "x")).toEqual(deriveP256KeyPair(material, "x"));
    expect(deriveSymmetricKey(material, "x")).toEqual(deriveSymmetricKey(material, "x"));
  });

  test("labels separate keys made from the same material", () => {
    expect(deriveP256KeyPair(material, "a").privateKey).not.toEqual(
      deriveP256KeyPair(material, "b").privateKey,
    );
    expect(deriveSymmetricKey(material, "a")).not.toEqual(deriveSymmetricKey(material, "b"));
  });

  test("gives valid P-256 scalars whose public key is the SEC1 uncompressed point", () => {
    for (let i = 0; i < 50; i++) {
      const pair = deriveP256KeyPair(crypto.getRandomValues(new Uint8Array(32)), "k");
      const scalar = BigInt("0x" + Buffer.from(pair.privateKey).toString("hex"));
      expect(scalar > 0n && scalar < p256.CURVE.n).toBe(true);
      expect(pair.publicKey.length).toBe(65);
      expect(pair.publicKey[0]).toBe(4);
      expect(p256.getPublicKey(pair.privateKey, false)).toEqual(pair.publicKey);
    }
  });

  test("the server's native derivation gives exactly noble's key pairs", () => {
    for (let i = 0; i < 50; i++) {
      const material = crypto.getRandomValues(new Uint8Array(32));
      expect(deriveP256KeyPairNative(material, "k")).toEqual(deriveP256KeyPair(material, "k"));
    }
  });

  test("native signatures verify as noble's do, and only for their key and message", async () => {
    const other = deriveP256KeyPair(crypto.getRandomValues(new Uint8Array(32)), "other");
    for (let i = 0; i < 20; i++) {
      const pair = deriveP256KeyPair(crypto.getRandomValues(new Uint8Array(32)), "k");
      const message = crypto.getRandomValues(new Uint8Array(1 + i * 7));
      const signature = signP256Native(message, pair);
      expect(signature.length).toBe(64);
      const digest = createHash("sha256").update(message).digest();
      expect(p256.verify(signature, digest, pair.publicKey)).toBe(true);
      const webKey = await crypto.subtle.importKey(
        "raw",
        pair.publicKey as Uint8Array<ArrayBuffer>,
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      expect(
        await crypto.subtle.verify(
          { name: "ECDSA", hash: "SHA-256" },
          webKey,
          signature as Uint8Array<ArrayBuffer>,
          message,
        ),
      ).toBe(true);
      expect(p256.verify(signature, digest, other.publicKey)).toBe(false);
      const tampered = Uint8Array.from(message);
      tampered[0]! ^= 1;
      expect(
        p256.verify(signature, createHash("sha256").update(tampered).digest(), pair.publicKey),
      ).toBe(false);
    }
  });

  test("the native HKDF gives the session keys noble's does", () => {
    for (let i = 0; i < 50; i++) {
      const shared = crypto.getRandomValues(new Uint8Array(32));
      const transcript = crypto.getRandomValues(new Uint8Array(i === 0 ? 0 : 32));
      expect(deriveSessionKeys(shared, transcript, hkdfSha256Native)).toEqual(
        deriveSessionKeys(shared, transcript),
      );
    }
  });

  test("the native ephemeral ECDH agrees with a WebCrypto peer, and refuses what is not a point", async () => {
    for (let i = 0; i < 10; i++) {
      const client = (await crypto.subtle.generateKey(
        { name: "ECDH", namedCurve: "P-256" },
        false,
        ["deriveBits"],
      )) as CryptoKeyPair;
      const clientPublicKey = new Uint8Array(
        await crypto.subtle.exportKey("raw", client.publicKey),
      );
      const server = agreeEphemeralNative(clientPublicKey);
      expect(server.publicKey.length).toBe(65);
      expect(server.sharedX).toEqual(await deriveSharedX(client.privateKey, server.publicKey));
      // The same shapes as the WebCrypto version the SDK uses.
      const web = await agreeEphemeral(clientPublicKey);
      expect([web.publicKey.length, web.sharedX.length]).toEqual([
        server.publicKey.length,
        server.sharedX.length,
      ]);
    }
    const valid = agreeEphemeralNative(deriveP256KeyPair(material, "peer").publicKey).publicKey;
    const offCurve = Uint8Array.from(valid);
    offCurve[64]! ^= 1;
    const hostile = [
      offCurve,
      valid.subarray(0, 33),
      new Uint8Array(65),
      Uint8Array.of(0x02, ...valid.subarray(1, 33)),
      new Uint8Array(0),
    ];
    for (const key of hostile)
      expect(() => agreeEphemeralNative(key)).toThrow(InvalidPublicKeyError);
  });

  test("a key pair whose halves do not match is refused, never signed with", () => {
    const a = deriveP256KeyPair(new Uint8Array(32).fill(1), "a");
    const b = deriveP256KeyPair(new Uint8Array(32).fill(2), "b");
    expect(() =>
      signP256Native(new Uint8Array([1]), { privateKey: a.privateKey, publicKey: b.publicKey }),
    ).toThrow();
    expect(() =>
      signP256Native(new Uint8Array([1]), {
        privateKey: new Uint8Array(32),
        publicKey: a.publicKey,
      }),
    ).toThrow();
  });

  test("the three TEE keys come from distinct paths", async () => {
    const seen: string[] = [];
    const keys = await deriveTeeKeys(async (path) => {
      seen.push(path);
      return material; // the same material on every path must still give distinct keys
    });
    expect(seen.sort()).toEqual(Object.values(KEY_PATHS).sort());
    expect(keys.identity.privateKey).not.toEqual(keys.invoke.privateKey);
    expect(keys.sealing.length).toBe(32);
  });

  test("kid is the first 16 base64url characters of SHA-256(identity key)", () => {
    const { publicKey } = deriveP256KeyPair(material, "id");
    const expected = createHash("sha256").update(publicKey).digest("base64url").slice(0, 16);
    expect(keyId(publicKey)).toBe(expected);
  });
});
