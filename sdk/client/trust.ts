// What the SDK checks before it trusts a server: the statement's identity key is one the caller
// pinned, and a quote (when the server has one) carries exactly the statement's hash (or the
// report binding's). Quote signature chains are a DCAP verifier's job, not this one.
import { bytesEqual, toHex } from "../crypto/encoding.ts";
import { isPinned } from "../crypto/pin.ts";
import {
  AttestationResponseSchema,
  attestationReportData,
  type AttestationResponse,
} from "../wire/attestation.ts";
import { reportBindingData, reportDigest } from "../wire/report.ts";
import { parseTdxQuote } from "../verify/tdx-quote.ts";
import { HandshakeError, ProtocolError } from "./errors.ts";
import { json, type Fetch } from "./http.ts";
import { parseWire } from "./parse.ts";

function checkQuote(quote: string | undefined, expected: Uint8Array, what: string): void {
  if (!quote) return;
  let reportData: Uint8Array;
  try {
    reportData = parseTdxQuote(quote).reportData;
  } catch (err) {
    throw new HandshakeError(`the quote cannot be read: ${(err as Error).message}`);
  }
  if (!bytesEqual(reportData, expected))
    throw new HandshakeError(`the quote's report data is not the ${what}`);
}

export async function fetchAttestation(
  fetchFn: Fetch,
  baseUrl: string,
  pinnedKeys: readonly string[],
  nonce?: string,
  signal?: AbortSignal,
): Promise<AttestationResponse> {
  const raw = await json(
    fetchFn,
    `${baseUrl}/attestation${nonce ? `?nonce=${encodeURIComponent(nonce)}` : ""}`,
    signal ? { signal } : {},
  );
  const parsed = parseWire(AttestationResponseSchema, raw);
  if (!parsed.success)
    throw new ProtocolError(
      `the attestation response does not match the schema: ${parsed.error.issues[0]?.message}`,
    );
  const attestation = parsed.data;
  if (pinnedKeys.length > 0 && !isPinned(attestation.statement, pinnedKeys)) {
    throw new HandshakeError(
      `the server's identity key (kid ${attestation.statement.kid}) is not one of the pinned keys`,
    );
  }
  if (nonce !== undefined && attestation.statement.nonce !== nonce)
    throw new HandshakeError("the statement does not carry the nonce that was sent");
  checkQuote(attestation.quote, attestationReportData(attestation.statement), "statement's hash");
  return attestation;
}

export interface ReportBindingCheck {
  nonce: string;
  reportSha256: string;
  reportData: string;
  quote: string | null;
  attested: boolean;
}

/** Checks a report's binding: its digest, the report data derived from the nonce, and the quote. */
export function checkReportBinding(report: Record<string, unknown>, nonce: string): void {
  const binding = report.binding as ReportBindingCheck | undefined;
  if (!binding) throw new HandshakeError("the report has no binding for the nonce that was sent");
  if (binding.nonce !== nonce)
    throw new HandshakeError("the report's binding carries another nonce");
  if (reportDigest(report) !== binding.reportSha256)
    throw new HandshakeError("the report's content does not match its bound digest");
  const expected = reportBindingData(nonce, binding.reportSha256);
  if (toHex(expected) !== binding.reportData)
    throw new HandshakeError("the binding's report data is not derived from the nonce and digest");
  checkQuote(binding.quote ?? undefined, expected, "report binding");
}
