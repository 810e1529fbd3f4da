// P-256 ECDH and ECDSA for handshakes and sealed invokes (DESIGN "Encryption"), on
// @noble/curves. Browser-safe: the server and the SDK run this same code.
import { p256 } from "@noble/curves/p256";
import { sha256 } from "@noble/hashes/sha2";

/** Every received public key is checked here: 65-byte SEC1 uncompressed, on the curve, not the identity. */
export class InvalidPublicKeyError extends Error {
  override name = "InvalidPublicKeyError";
}

export function validatePublicKey(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 65 || bytes[0] !== 0x04) throw new InvalidPublicKeyError("a public key must be a 65-byte SEC1 uncompressed P-256 point");
  try {
    const point = p256.ProjectivePoint.fromHex(bytes);
    point.assertValidity();
    if (point.equals(p256.ProjectivePoint.ZERO)) throw new Error("identity");
  } catch {
    throw new InvalidPublicKeyError("the public key is not a valid P-256 point");
  }
  return bytes;
}

export interface EphemeralKeyPair {
  privateKey: Uint8Array;
  /** SEC1 uncompressed, 65 bytes. */
  publicKey: Uint8Array;
}

export function generateEphemeralKeyPair(): EphemeralKeyPair {
  const privateKey = p256.utils.randomPrivateKey();
  return { privateKey, publicKey: p256.getPublicKey(privateKey, false) };
}

/** The ECDH shared secret: the x-coordinate of d·Q (32 bytes), after validating Q. */
export function ecdhSharedX(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  validatePublicKey(peerPublicKey);
  return p256.getSharedSecret(privateKey, peerPublicKey, true).slice(1);
}

/** ECDSA P-256 over SHA-256(message), as 64-byte r‖s (the WebCrypto format). */
export function signP256(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return p256.sign(sha256(message), privateKey).toCompactRawBytes();
}

export function verifyP256(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    validatePublicKey(publicKey);
    // lowS: false accepts both s forms, as WebCrypto verifiers do.
    return p256.verify(signature, sha256(message), publicKey, { lowS: false });
  } catch {
    return false;
  }
}
