// The binary's own source (DESIGN "Provenance"): every file that determines it, embedded at
// build time, with the commit and repository. GET /source and the statement's `source` come
// from here; the digests are recomputed once at start-up from the embedded bytes, so what is
// served is what is attested.
import { treeSha256, type SourceListing, type SourceProvenance } from "../../sdk/wire/source.ts";
import { embeddedSource } from "./tree-macro.ts" with { type: "macro" };

const EMBEDDED = embeddedSource();
const texts = new Map(EMBEDDED.files.map((f) => [f.path, f.text]));
const files = EMBEDDED.files.map(({ path, text }) => {
  const bytes = new TextEncoder().encode(text);
  return {
    path,
    sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex"),
    bytes: bytes.length,
  };
});

export const SOURCE_LISTING: SourceListing = {
  repository: EMBEDDED.repository,
  commit: EMBEDDED.commit,
  files,
  treeSha256: treeSha256(files),
};

export const SOURCE_PROVENANCE: SourceProvenance = {
  repository: SOURCE_LISTING.repository,
  commit: SOURCE_LISTING.commit,
  treeSha256: SOURCE_LISTING.treeSha256,
};

/** The exact text of one listed file, or undefined for anything not listed. */
export function sourceText(path: string): string | undefined {
  return texts.get(path);
}
