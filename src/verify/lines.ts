// What every verifier section shares: the line shape and its statuses, and the evidence read
// once from the server. "proven" is checked against the quote or recomputed here; "stated" is
// the server's word that nothing here proves; "skipped" says what was not checked and why.
import type { AttestationResponse } from "../../sdk/wire/attestation.ts";
import type { ReplayedLog } from "../../sdk/verify/event-log.ts";
import type { TdxQuoteFields } from "../../sdk/verify/tdx-quote.ts";

export type CheckStatus = "proven" | "stated" | "skipped" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

export type Add = (name: string, status: CheckStatus, detail: string) => void;

/** What the server answered, read once, for every section to check. */
export interface Evidence {
  attestation: AttestationResponse;
  statement: AttestationResponse["statement"];
  nonce: string;
  quote?: TdxQuoteFields;
  /** The quote's report data is the statement's hash. */
  bound: boolean;
  /** The event log, replayed and equal to the quote's RTMR3 (only then). */
  rtmr3?: ReplayedLog;
}

export const short = (hex: string) =>
  hex.length > 24 ? `${hex.slice(0, 16)}…${hex.slice(-8)}` : hex;
