// The server's private key material: P-256 key pairs and symmetric keys derived from TEE
// material, and signing with them. Server-only by purpose (clients hold no long-term keys), and
// the only crypto here that needs @noble/curves, so the browser SDK leaves it out.
import { p256 } from "@noble/curves/p256";
import { mapHashToField } from "@noble/curves/abstract/modular";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { utf8 } from "../../sdk/crypto/encoding.ts";

export interface P256KeyPair {
  /** 32-byte big-endian scalar. */
  privateKey: Uint8Array;
  /** SEC1 uncompressed point (65 bytes, 0x04 ‖ x ‖ y). */
  publicKey: Uint8Array;
}

/**
 * Turns 32 bytes of key material into a P-256 key pair, deterministically.
 * HKDF-SHA256 with a purpose label separates keys made from the same root, and 48 bytes reduced
 * modulo n-1 (FIPS 186-5 A.4.1 style) give a valid, unbiased non-zero scalar.
 */
export function deriveP256KeyPair(material: Uint8Array, label: string): P256KeyPair {
  const privateKey = deriveP256PrivateKey(material, label);
  return { privateKey, publicKey: p256.getPublicKey(privateKey, false) };
}

/** The private half of deriveP256KeyPair alone (its public key can then come from elsewhere). */
export function deriveP256PrivateKey(material: Uint8Array, label: string): Uint8Array {
  const wide = hkdf(sha256, material, utf8("auditor/p256/v1"), utf8(label), 48);
  return mapHashToField(wide, p256.CURVE.n);
}

/** A 32-byte symmetric key for a labelled purpose. */
export function deriveSymmetricKey(material: Uint8Array, label: string): Uint8Array {
  return hkdf(sha256, material, utf8("auditor/symmetric/v1"), utf8(label), 32);
}

/** ECDSA P-256 over SHA-256(message), as 64-byte r‖s (the WebCrypto format), RFC 6979 nonces. */
export function signP256(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return p256.sign(sha256(message), privateKey).toCompactRawBytes();
}
