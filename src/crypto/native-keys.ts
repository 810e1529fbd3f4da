// P-256 public keys from private scalars on the runtime's native elliptic curves (node:crypto
// in Bun): the same points @noble/curves computes, without building noble's base-point tables
// (~30 ms) during start-up. Server-only. Those tables are then built by the first signature
// (a session handshake, a receipt), once per process. (BoringSSL has no secp256k1, so the
// dstack key provenance stays on noble.)
import { createECDH } from "node:crypto";
import { deriveP256PrivateKey, type P256KeyPair } from "./keys.ts";

/** deriveP256KeyPair (src/crypto/keys.ts), the public key computed natively. */
export function deriveP256KeyPairNative(material: Uint8Array, label: string): P256KeyPair {
  const privateKey = deriveP256PrivateKey(material, label);
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(privateKey);
  return { privateKey, publicKey: new Uint8Array(ecdh.getPublicKey()) };
}
