// The report binding (DESIGN "Reports"), shared by the server and clients: a fresh quote over
// a verifier's nonce and the report's digest.
import { sha256, sha512 } from "@noble/hashes/sha2";
import { canonicalJson } from "../../src/crypto/canonical-json.ts";
import { toHex, utf8 } from "../../src/crypto/encoding.ts";

export const REPORT_DOMAIN = "auditor-report-v1:";

/** SHA-512(REPORT_DOMAIN ‖ canonicalJSON({ nonce, reportSha256 })): the quote's report data. */
export function reportBindingData(nonce: string, reportSha256: string): Uint8Array {
  return sha512(utf8(REPORT_DOMAIN + canonicalJson({ nonce, reportSha256 })));
}

/** SHA-256 (hex) of the canonical JSON of a report without its `binding`. */
export function reportDigest(report: Record<string, unknown>): string {
  const { binding: _binding, ...unbound } = report;
  return toHex(sha256(utf8(canonicalJson(unbound))));
}
