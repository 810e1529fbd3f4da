// P-256 and HKDF on the runtime's native crypto (node:crypto in Bun, BoringSSL): public keys
// from private scalars, the same points @noble/curves computes, without building noble's
// base-point tables (~30 ms) during start-up; and for the session handshake, its ephemeral
// ECDH (synchronous, where WebCrypto took four awaited calls), its signature (~20 µs against
// ~250 µs in noble) and key schedule (same bytes, ~5x faster). Server-only. (BoringSSL has no secp256k1, so the dstack key
// provenance stays on noble.)
import { createECDH, createPrivateKey, hkdfSync, sign, type KeyObject } from "node:crypto";
import type { HkdfSha256 } from "../../sdk/crypto/handshake.ts";
import { validatePublicKey } from "../../sdk/crypto/p256.ts";
import { toBase64Url } from "../../sdk/crypto/encoding.ts";
import { deriveP256PrivateKey, type P256KeyPair } from "./keys.ts";

/** deriveP256KeyPair (src/crypto/keys.ts), the public key computed natively. */
export function deriveP256KeyPairNative(material: Uint8Array, label: string): P256KeyPair {
  const privateKey = deriveP256PrivateKey(material, label);
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(privateKey);
  return { privateKey, publicKey: new Uint8Array(ecdh.getPublicKey()) };
}

/** Each key pair's native private key, made at its first signature. */
const signingKeys = new WeakMap<P256KeyPair, KeyObject>();

/**
 * ECDSA P-256 over SHA-256(message) as 64-byte r‖s, as signP256 (src/crypto/keys.ts) but
 * native. The signature verifies the same; its nonce is BoringSSL's, hedged (random bytes mixed
 * with the key and the digest) rather than RFC 6979's deterministic one, so two signatures of
 * one message differ. For signatures where that does not matter (each session's transcript is
 * unique anyway).
 */
export function signP256Native(message: Uint8Array, key: P256KeyPair): Uint8Array {
  let native = signingKeys.get(key);
  if (!native) {
    const jwk = {
      kty: "EC",
      crv: "P-256",
      d: toBase64Url(key.privateKey),
      x: toBase64Url(key.publicKey.subarray(1, 33)),
      y: toBase64Url(key.publicKey.subarray(33)),
    };
    signingKeys.set(key, (native = createPrivateKey({ key: jwk, format: "jwk" })));
  }
  return new Uint8Array(sign("sha256", message, { key: native, dsaEncoding: "ieee-p1363" }));
}

/** HKDF-SHA256, natively: the same bytes as noble's hkdf (sdk/crypto/handshake.ts). */
export const hkdfSha256Native: HkdfSha256 = (ikm, salt, info, length) =>
  new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));

/**
 * agreeEphemeral (sdk/crypto/p256.ts) natively: a fresh P-256 key, its SEC1 uncompressed public
 * key and the x-coordinate shared with `peerPublicKey`, which is validated first.
 */
export function agreeEphemeralNative(peerPublicKey: Uint8Array): {
  publicKey: Uint8Array;
  sharedX: Uint8Array;
} {
  validatePublicKey(peerPublicKey);
  const ecdh = createECDH("prime256v1");
  const publicKey = new Uint8Array(ecdh.generateKeys());
  return { publicKey, sharedX: new Uint8Array(ecdh.computeSecret(peerPublicKey)) };
}
