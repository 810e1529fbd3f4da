// The source contract (DESIGN "Provenance"), shared by the server and verifiers: GET /source
// lists every file that determines the binary; treeSha256 = SHA-256(JCS(files)), sorted by path.
import { z } from "zod";
import { sha256 } from "@noble/hashes/sha2";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { toHex, utf8 } from "../crypto/encoding.ts";

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** A 40-hex git commit, with "-dirty" when the tree differed from it; null when unknown. */
export const CommitSchema = z.string().regex(/^[0-9a-f]{40}(-dirty)?$/).nullable();

export const SourceFileSchema = z.object({ path: z.string().min(1), sha256: Hex64, bytes: z.number().int().min(0) }).strict();
export type SourceFile = z.infer<typeof SourceFileSchema>;

/** What the statement carries about the source: quote-bound wherever the statement is. */
export const SourceProvenanceSchema = z.object({ repository: z.string().min(1), commit: CommitSchema, treeSha256: Hex64 }).strict();
export type SourceProvenance = z.infer<typeof SourceProvenanceSchema>;

export const SourceListingSchema = z
  .object({ repository: z.string().min(1), commit: CommitSchema, files: z.array(SourceFileSchema), treeSha256: Hex64 })
  .strict();
export type SourceListing = z.infer<typeof SourceListingSchema>;

/** SHA-256 (hex) of the canonical JSON of the file list, in path order. */
export function treeSha256(files: readonly SourceFile[]): string {
  return toHex(sha256(utf8(canonicalJson(files.map(({ path, sha256: digest, bytes }) => ({ path, sha256: digest, bytes }))))));
}
