// The source contract (DESIGN "Provenance"), shared by the server and verifiers: GET /source
// lists every file that determines the binary; treeSha256 = SHA-256(JCS(files)), sorted by path.
import { z } from "zod/mini";
import { sha256 } from "@noble/hashes/sha2";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { toHex, utf8 } from "../crypto/encoding.ts";

const Hex64 = z.string().check(z.regex(/^[0-9a-f]{64}$/));

/** A 40-hex git commit, with "-dirty" when the tree differed from it; null when unknown. */
export const CommitSchema = z.nullable(z.string().check(z.regex(/^[0-9a-f]{40}(-dirty)?$/)));

export const SourceFileSchema = z.strictObject({
  path: z.string().check(z.minLength(1)),
  sha256: Hex64,
  bytes: z.number().check(z.int(), z.gte(0)),
});
export type SourceFile = z.infer<typeof SourceFileSchema>;

/** What the statement carries about the source: quote-bound wherever the statement is. */
export const SourceProvenanceSchema = z.strictObject({
  repository: z.string().check(z.minLength(1)),
  commit: CommitSchema,
  treeSha256: Hex64,
});
export type SourceProvenance = z.infer<typeof SourceProvenanceSchema>;

export const SourceListingSchema = z.strictObject({
  repository: z.string().check(z.minLength(1)),
  commit: CommitSchema,
  files: z.array(SourceFileSchema),
  treeSha256: Hex64,
});
export type SourceListing = z.infer<typeof SourceListingSchema>;

/** SHA-256 (hex) of the canonical JSON of the file list, in path order. */
export function treeSha256(files: readonly SourceFile[]): string {
  return toHex(
    sha256(
      utf8(
        canonicalJson(
          files.map(({ path, sha256: digest, bytes }) => ({ path, sha256: digest, bytes })),
        ),
      ),
    ),
  );
}
