// `auditor verify <url>`: checks a running Auditor from the outside, the way a user or an AI
// agent should before trusting it. Every check says pass, fail or skip, with its evidence; a
// skip says what was not checked and why (nothing is silently assumed).
import { bytesEqual, fromHex, toHex } from "../crypto/encoding.ts";
import { AttestationResponseSchema, attestationReportData, type AttestationResponse } from "../../sdk/wire/attestation.ts";
import { parseEventLog, replayRtmr3 } from "../../sdk/verify/event-log.ts";
import { parseTdxQuote, type TdxQuoteFields } from "../../sdk/verify/tdx-quote.ts";
import { checkReportBinding, isPinned } from "../../sdk/client/trust.ts";

export type CheckStatus = "pass" | "fail" | "skip";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface VerifyOptions {
  url: string;
  app: string;
  /** The digest of the binary the user built from source. */
  binarySha256?: string;
  /** The compose hash of the app-compose.json the user deployed. */
  composeHash?: string;
  appId?: string;
  /** Identity keys or kids the user already trusts. */
  pins: string[];
  /** Skip the Intel signature chain (no collateral fetch). */
  offline: boolean;
  pccsUrl?: string;
  fetch?: typeof fetch;
}

/** Verifies the TDX quote's Intel signature chain; throws when collateral cannot be fetched. */
export type QuoteSignatureVerifier = (quote: Uint8Array, pccsUrl: string | undefined) => Promise<{ status: string }>;

const short = (hex: string) => (hex.length > 24 ? `${hex.slice(0, 16)}…${hex.slice(-8)}` : hex);

export async function verifyDeployment(options: VerifyOptions, verifyQuoteSignature: QuoteSignatureVerifier): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, status: CheckStatus, detail: string) => checks.push({ name, status, detail });
  const fetchFn = options.fetch ?? fetch;
  const base = options.url.replace(/\/+$/, "");
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));

  let attestation: AttestationResponse;
  try {
    const res = await fetchFn(`${base}/attestation?nonce=${nonce}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    attestation = AttestationResponseSchema.parse(await res.json());
  } catch (err) {
    add("attestation", "fail", `GET /attestation failed: ${(err as Error).message}`);
    return checks;
  }
  const { statement } = attestation;
  add("fresh statement", statement.nonce === nonce ? "pass" : "fail", statement.nonce === nonce ? `carries this run's nonce ${nonce}` : `expected nonce ${nonce}, got ${statement.nonce ?? "none"} (a replayed or cached statement)`);

  if (options.pins.length === 0) add("identity key pinned", "skip", `kid ${statement.kid}; pass --pin <kid> to require a key you already trust`);
  else add("identity key pinned", isPinned(statement, options.pins) ? "pass" : "fail", `kid ${statement.kid} ${isPinned(statement, options.pins) ? "is" : "is NOT"} among the pinned keys`);

  let quote: TdxQuoteFields | undefined;
  if (!attestation.quote) {
    add("TDX quote", "fail", `no quote: the server is not attested (provider ${statement.tee.provider})`);
  } else {
    try {
      quote = parseTdxQuote(attestation.quote);
      add("TDX quote", "pass", `TDX quote v${quote.version}, MRTD ${short(quote.mrTd)}`);
    } catch (err) {
      add("TDX quote", "fail", `the quote cannot be read: ${(err as Error).message}`);
    }
  }

  if (quote) {
    const expected = attestationReportData(statement);
    const bound = bytesEqual(quote.reportData, expected);
    add("statement bound to the quote", bound ? "pass" : "fail", bound ? `report data = SHA-512(statement) = ${short(toHex(expected))}` : `the quote's report data ${short(toHex(quote.reportData))} is not SHA-512 of the statement ${short(toHex(expected))}`);
    checkEventLog(attestation, quote, statement.tee, add);
  } else {
    add("statement bound to the quote", "skip", "no readable quote");
    add("event log replays to RTMR3", "skip", "no readable quote");
  }

  compare(add, "app id", statement.tee.appId, options.appId, "--app-id");
  compare(add, "compose hash", statement.tee.composeHash, options.composeHash, "--compose-hash or --app-compose");
  if (statement.binarySha256 === null) add("binary digest", "fail", "the server runs from source: no binary digest to check");
  else compare(add, "binary digest", statement.binarySha256, options.binarySha256, "--binary-sha256 or --binary (the one you built from source)");

  await checkReport(base, options.app, statement, fetchFn, add);

  if (!quote || !attestation.quote) add("Intel signature chain", "skip", "no readable quote");
  else if (options.offline) add("Intel signature chain", "skip", "--offline: the quote's DCAP signature chain was not checked");
  else {
    try {
      const result = await verifyQuoteSignature(fromHex(attestation.quote), options.pccsUrl);
      add("Intel signature chain", "pass", `DCAP verification passed, TCB status ${result.status}`);
    } catch (err) {
      const message = (err as Error).message;
      if (/fetch|connect|ENOTFOUND|ECONNREFUSED|network|timed? ?out/i.test(message)) add("Intel signature chain", "skip", `collateral unreachable (${message}); run where the PCCS is reachable`);
      else add("Intel signature chain", "fail", `the quote does not verify: ${message}`);
    }
  }
  return checks;
}

function compare(add: (name: string, status: CheckStatus, detail: string) => void, name: string, attested: string | null, expected: string | undefined, flag: string) {
  if (attested === null) return add(name, "fail", `the statement has no ${name}`);
  if (expected === undefined) return add(name, "skip", `attested ${attested}; pass ${flag} to compare with yours`);
  const same = attested.toLowerCase() === expected.toLowerCase();
  add(name, same ? "pass" : "fail", same ? `${attested} is the one you expect` : `attested ${attested}, expected ${expected}`);
}

function checkEventLog(
  attestation: AttestationResponse,
  quote: TdxQuoteFields,
  tee: { appId: string | null; composeHash: string | null },
  add: (name: string, status: CheckStatus, detail: string) => void,
) {
  if (!attestation.eventLog) return add("event log replays to RTMR3", "fail", "the server sent no event log");
  let replayed;
  try {
    replayed = replayRtmr3(parseEventLog(attestation.eventLog));
  } catch (err) {
    return add("event log replays to RTMR3", "fail", `the event log cannot be read: ${(err as Error).message}`);
  }
  if (replayed.forged.length > 0) return add("event log replays to RTMR3", "fail", `event digests that are not the digest of their own content: ${replayed.forged.join(", ")}`);
  if (replayed.rtmr3 !== quote.rtmr[3]) return add("event log replays to RTMR3", "fail", `replayed RTMR3 ${short(replayed.rtmr3)} ≠ the quote's ${short(quote.rtmr[3])}`);
  add("event log replays to RTMR3", "pass", `RTMR3 ${short(replayed.rtmr3)} recomputed from ${replayed.payloads.size} runtime events`);
  for (const [event, value] of [["app-id", tee.appId], ["compose-hash", tee.composeHash]] as const) {
    const measured = replayed.payloads.get(event);
    const name = `statement ${event} is the measured one`;
    if (!measured) add(name, "fail", `the event log has no ${event} event`);
    else if (value === null || measured !== value.toLowerCase()) add(name, "fail", `measured ${measured}, the statement says ${value}`);
    else add(name, "pass", `${event} ${value} is in RTMR3`);
  }
}

async function checkReport(base: string, app: string, statement: AttestationResponse["statement"], fetchFn: typeof fetch, add: (name: string, status: CheckStatus, detail: string) => void) {
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
  try {
    const res = await fetchFn(`${base}/report/${encodeURIComponent(app)}?nonce=${nonce}`, { headers: { accept: "application/json" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const report = (await res.json()) as Record<string, unknown>;
    checkReportBinding(report, nonce);
    const reported = report.attestation as { identityKey?: string; binarySha256?: string | null } | undefined;
    if (reported?.identityKey !== statement.identityKey || reported?.binarySha256 !== statement.binarySha256) throw new Error("the report names another identity key or binary than /attestation");
    const binding = report.binding as { quote: string | null; attested: boolean };
    add(`report /report/${app} bound`, "pass", binding.attested ? `digest and fresh nonce in a quote's report data` : "digest and nonce consistent (no quote: not attested)");
  } catch (err) {
    add(`report /report/${app} bound`, "fail", (err as Error).message);
  }
}
