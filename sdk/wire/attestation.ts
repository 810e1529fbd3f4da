// The attestation contract (DESIGN "Attestation"), shared by server and clients.
import { z } from "zod/mini";
import { SourceProvenanceSchema } from "./source.ts";
import { sha512 } from "@noble/hashes/sha2";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { isCanonicalBase64Url, utf8 } from "../crypto/encoding.ts";

export const ATTESTATION_DOMAIN = "auditor-attestation-v1:";

/** A verifier's freshness nonce: 1 to 32 bytes as hex (at most 64 characters). */
export const NonceSchema = z
  .string()
  .check(
    z.regex(
      /^(?:[0-9a-fA-F]{2}){1,32}$/,
      "must be an even number of hex digits, 2 to 64 characters",
    ),
  );

/**
 * Unpadded base64url that is exactly what an encoder writes for its bytes: every wire field
 * that carries a key, signature or ciphertext uses this, so one value has one spelling.
 */
export const CanonicalBase64Url = z
  .string()
  .check(
    z.refine(
      isCanonicalBase64Url,
      "must be canonical base64url without padding (no whitespace, spare bits zero)",
    ),
  );

export const TeeDescriptionSchema = z.strictObject({
  provider: z.enum(["dstack", "dev"]),
  appId: z.nullable(z.string()),
  composeHash: z.nullable(z.string()),
  instanceId: z.nullable(z.string()),
});
export type TeeDescription = z.infer<typeof TeeDescriptionSchema>;

export const AttestationStatementSchema = z.strictObject({
  v: z.literal(1),
  identityKey: CanonicalBase64Url.check(z.minLength(1)),
  invokeKey: CanonicalBase64Url.check(z.minLength(1)),
  kid: z.string().check(z.length(16)),
  /** sha256 of the running executable; null when running from source (not a compiled binary). */
  binarySha256: z.nullable(z.string().check(z.regex(/^[0-9a-f]{64}$/))),
  /** The repository, commit and source tree the binary was built from (GET /source). */
  source: SourceProvenanceSchema,
  tee: TeeDescriptionSchema,
  nonce: z.optional(NonceSchema),
});
export type AttestationStatement = z.infer<typeof AttestationStatementSchema>;

const Hex = z.string().check(z.regex(/^(?:[0-9a-f]{2})+$/, "must be lowercase hex"));

/** Where one key path's material came from: GetKey's answer, minus the secret (DESIGN). */
export const KeyProvenanceEntrySchema = z.strictObject({
  /** The purpose passed to GetKey: the app key signs `${purpose}:${publicKey}`. */
  purpose: z.string(),
  /** SEC1 compressed secp256k1 public key of the key material GetKey returned. */
  publicKey: Hex,
  /** GetKey's signature_chain as hex: [app key's signature, KMS root's signature]. */
  signatureChain: z.array(Hex),
});
export type KeyProvenanceEntry = z.infer<typeof KeyProvenanceEntrySchema>;
/** Key path (e.g. auditor/identity/v1) → its provenance. */
export const KeyProvenanceSchema = z.record(z.string(), KeyProvenanceEntrySchema);
export type KeyProvenance = z.infer<typeof KeyProvenanceSchema>;

export const AttestationResponseSchema = z.strictObject({
  statement: AttestationStatementSchema,
  /** TDX quote as hex, exactly as the dstack guest agent returned it. */
  quote: z.optional(z.string().check(z.regex(/^[0-9a-f]+$/))),
  /** The guest agent's event log (a JSON string), for replaying RTMRs. */
  eventLog: z.optional(z.string()),
  /**
   * GetQuote's vm_config, verbatim (JSON text naming os_image_hash and the VM shape): the
   * operator's word, not in the quote; null when not attested (dev provider).
   */
  vmConfig: z.nullable(z.string()),
  /** GetKey's signature chains per key path; null when not attested (dev provider). */
  keyProvenance: z.nullable(KeyProvenanceSchema),
  attested: z.boolean(),
});
export type AttestationResponse = z.infer<typeof AttestationResponseSchema>;

/** `GET /attestation?format=dstack`: the input dstack-verifier's POST /verify takes. */
export const DstackVerifierInputSchema = z.strictObject({
  quote: z.string().check(z.regex(/^[0-9a-f]+$/)),
  event_log: z.string(),
  vm_config: z.string(),
});
export type DstackVerifierInput = z.infer<typeof DstackVerifierInputSchema>;

/** The 64 bytes a quote's report data must equal for this statement. */
export function attestationReportData(statement: AttestationStatement): Uint8Array {
  return sha512(utf8(ATTESTATION_DOMAIN + canonicalJson(statement)));
}
