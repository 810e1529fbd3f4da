// The three long-lived keys, each from its own versioned key path and purpose label, so that
// one path's compromise or rotation never touches the others.
import { deriveP256KeyPairNative, deriveSymmetricKey, type P256KeyPair } from "../crypto/index.ts";

export const KEY_PATHS = {
  identity: "auditor/identity/v1",
  invoke: "auditor/invoke/v1",
  sealing: "auditor/sealing/v1",
} as const;

export interface TeeKeys {
  identity: P256KeyPair;
  invoke: P256KeyPair;
  sealing: Uint8Array;
}

/** `getKey` returns raw per-path key material (dstack: 32 secp256k1 bytes). */
export async function deriveTeeKeys(
  getKey: (path: string) => Promise<Uint8Array>,
): Promise<TeeKeys> {
  const [identity, invoke, sealing] = await Promise.all([
    getKey(KEY_PATHS.identity),
    getKey(KEY_PATHS.invoke),
    getKey(KEY_PATHS.sealing),
  ]);
  return {
    identity: deriveP256KeyPairNative(identity, `${KEY_PATHS.identity} p256-ecdsa`),
    invoke: deriveP256KeyPairNative(invoke, `${KEY_PATHS.invoke} p256-ecdh`),
    sealing: deriveSymmetricKey(sealing, `${KEY_PATHS.sealing} aes-256-gcm`),
  };
}
