// Checks a dstack GetKey `signature_chain` up to the KMS root (DESIGN "The whole chain"). The
// format, from dstack's guest agent (guest-agent/src/rpc_service.rs get_key) and KMS
// (kms/src/crypto.rs derive_k256_key, sign_message), both in github.com/Dstack-TEE/dstack:
//   chain[0]: the app key signs keccak256(utf8(`${purpose}:${hex(derived public key)}`))
//   chain[1]: the KMS root signs keccak256("dstack-kms-issued" ‖ ":" ‖ app id bytes ‖ app key)
// Public keys are SEC1 compressed secp256k1 (33 bytes); signatures are r ‖ s ‖ recovery id
// (65 bytes). Each signer's key is recovered from its signature, so the chain proves only what
// it ends in: the recovered root is compared with the root the verifier trusts. The key path
// itself is not signed (dstack signs the purpose), and how the server turns the key material
// into its P-256 keys is stated by the measured code, not provable from the chain.
import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak_256 } from "@noble/hashes/sha3";
// @noble's helpers, not src/crypto: sdk/ imports nothing from src/.
import {
  bytesToHex as toHex,
  concatBytes,
  hexToBytes as fromHex,
  utf8ToBytes as utf8,
} from "@noble/hashes/utils";

const bytesEqual = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export const KMS_ISSUED_PREFIX = "dstack-kms-issued";

export interface ProvenanceEntry {
  purpose: string;
  /** SEC1 compressed secp256k1 public key of the key GetKey returned (hex). */
  publicKey: string;
  /** GetKey's signature_chain, hex, as the guest agent returned it. */
  signatureChain: string[];
}

export type ChainResult =
  | { ok: true; appKey: string; kmsRoot: string }
  | { ok: false; reason: string };

/** The digest chain[0] signs. */
export function appKeyMessage(purpose: string, publicKeyHex: string): Uint8Array {
  return keccak_256(utf8(`${purpose}:${publicKeyHex.toLowerCase()}`));
}

/** The digest chain[1] signs. */
export function kmsIssuedMessage(appId: Uint8Array, appKey: Uint8Array): Uint8Array {
  return keccak_256(concatBytes(utf8(`${KMS_ISSUED_PREFIX}:`), appId, appKey));
}

/** The compressed key that made a 65-byte recoverable signature over `digest`. */
export function recoverSigner(signatureHex: string, digest: Uint8Array): Uint8Array {
  const sig = fromHex(signatureHex);
  if (sig.length !== 65) throw new Error(`a signature is ${sig.length} bytes, expected 65`);
  // Ethereum-style 27/28 is accepted too; dstack itself writes 0/1.
  const recovery = sig[64]! >= 27 ? sig[64]! - 27 : sig[64]!;
  if (recovery > 3) throw new Error(`recovery id ${sig[64]} is out of range`);
  const signature = secp256k1.Signature.fromCompact(sig.subarray(0, 64)).addRecoveryBit(recovery);
  return signature.recoverPublicKey(digest).toRawBytes(true);
}

/** Recovers the app key and the KMS root a chain ends in, for the given (measured) app id. */
export function recoverChain(entry: ProvenanceEntry, appIdHex: string): ChainResult {
  if (entry.signatureChain.length !== 2) {
    return {
      ok: false,
      reason: `the chain has ${entry.signatureChain.length} signatures, expected 2`,
    };
  }
  try {
    const appKey = recoverSigner(
      entry.signatureChain[0]!,
      appKeyMessage(entry.purpose, entry.publicKey),
    );
    const root = recoverSigner(
      entry.signatureChain[1]!,
      kmsIssuedMessage(fromHex(appIdHex), appKey),
    );
    return { ok: true, appKey: toHex(appKey), kmsRoot: toHex(root) };
  } catch (err) {
    return { ok: false, reason: `the chain cannot be read: ${(err as Error).message}` };
  }
}

/**
 * A KMS root as a verifier may hold it: the secp256k1 public key (33 or 65 bytes, hex) or its
 * Ethereum address (20 bytes: what dstack's KMS contract and Phala's tools show).
 */
export function parseKmsRoot(text: string): { publicKey: Uint8Array } | { address: Uint8Array } {
  const bytes = fromHex(text.replace(/^0x/i, ""));
  if (bytes.length === 20) return { address: bytes };
  if (bytes.length === 33 || bytes.length === 65) {
    return { publicKey: secp256k1.ProjectivePoint.fromHex(bytes).toRawBytes(true) };
  }
  throw new Error(
    `a KMS root is a 33- or 65-byte public key or a 20-byte address, got ${bytes.length} bytes`,
  );
}

/** The Ethereum address of a secp256k1 public key: keccak256(uncompressed x ‖ y)[12..]. */
export function ethereumAddress(compressed: Uint8Array): Uint8Array {
  const uncompressed = secp256k1.ProjectivePoint.fromHex(compressed).toRawBytes(false);
  return keccak_256(uncompressed.subarray(1)).subarray(12);
}

export function rootMatches(
  recoveredHex: string,
  trusted: ReturnType<typeof parseKmsRoot>,
): boolean {
  const recovered = fromHex(recoveredHex);
  return "publicKey" in trusted
    ? bytesEqual(recovered, trusted.publicKey)
    : bytesEqual(ethereumAddress(recovered), trusted.address);
}
