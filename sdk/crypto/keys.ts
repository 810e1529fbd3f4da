// Key identifiers shared by the server and the SDK. Browser-safe.
import { sha256 } from "@noble/hashes/sha2";
import { toBase64Url } from "./encoding.ts";

/** The key id clients pin and envelopes carry: base64url(SHA-256(identity key))[0..16]. */
export function keyId(identityPublicKey: Uint8Array): string {
  return toBase64Url(sha256(identityPublicKey)).slice(0, 16);
}
