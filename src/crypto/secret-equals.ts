// Comparing a presented secret (API key, session token) with a stored one. A byte-wise
// constant-time compare still returns early on a length mismatch, which tells an attacker the
// secret's length; comparing the SHA-256 digests of both sides always compares 32 bytes.
// Browser-safe.
import { sha256 } from "@noble/hashes/sha2";
import { bytesEqual, utf8 } from "../../sdk/crypto/encoding.ts";

export function secretEquals(presented: string, expected: string): boolean {
  return bytesEqual(sha256(utf8(presented)), sha256(utf8(expected)));
}
