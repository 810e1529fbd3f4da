// `auditor verify <url>`: checks a running Auditor from the outside, the way a user or an AI
// agent should before trusting it, link by link from the silicon to the source (DESIGN "The
// whole chain"). Every line says how it is known: proven (checked against the quote or
// recomputed here), stated (the server says so and nothing here proves it), skipped (not
// checked, and why) or fail. Nothing is silently assumed, and nothing stated is called proven.
//
// The evidence is gathered once; then each section adds its named lines. A new check is one
// more section in SECTIONS.
import { fromHex, toHex } from "../../sdk/crypto/encoding.ts";
import {
  AttestationResponseSchema,
  attestationReportData,
  type AttestationResponse,
} from "../../sdk/wire/attestation.ts";
import { parseEventLog, replayRtmr3, type ReplayedLog } from "../../sdk/verify/event-log.ts";
import { parseTdxQuote } from "../../sdk/verify/tdx-quote.ts";
import type { OsMeasurementsFile } from "../../sdk/verify/os-measurements.ts";
import { checkReportBinding } from "../../sdk/client/trust.ts";
import { isPinned } from "../../sdk/crypto/pin.ts";
import { short, type Add, type Check, type Evidence } from "./lines.ts";
import { keyProvenanceLines, osMeasurementLines } from "./platform.ts";
import { sourceChainLines, type AppComposeManifest, type Rebuilder } from "./source-chain.ts";
import { egressLogLines, receiptLines, sourceLines } from "./provenance.ts";

export interface VerifyOptions {
  url: string;
  app: string;
  /** The digest of the binary the user built from source. */
  binarySha256?: string;
  /** The compose hash of the app-compose.json the user deployed. */
  composeHash?: string;
  /** The deployed app-compose.json itself: names the image the compose hash pins. */
  appCompose?: AppComposeManifest;
  appId?: string;
  /** Identity keys or kids the user already trusts. */
  pins: string[];
  /** Skip the Intel signature chain (no collateral fetch). */
  offline: boolean;
  pccsUrl?: string;
  /** Expected MRTD/RTMR0–2 per OS image (--os-measurements). */
  osMeasurements?: OsMeasurementsFile;
  /** The KMS root the user trusts (--kms-root): public key or Ethereum address, hex. */
  kmsRoot?: string;
  /** A checkout to rebuild the binary and the image from, and to compare /source with (--source). */
  source?: string;
  /** One call to make and check the receipt of (--invoke, --input). */
  invoke?: { fn: string; input: unknown };
  /** A receipt the user captured (--receipt): the header value or its JSON. */
  receipt?: string;
  fetch?: typeof fetch;
}

/** Verifies the TDX quote's Intel signature chain; throws when collateral cannot be fetched. */
export type QuoteSignatureVerifier = (
  quote: Uint8Array,
  pccsUrl: string | undefined,
) => Promise<{ status: string }>;

export interface VerifyDeps {
  verifyQuoteSignature: QuoteSignatureVerifier;
  rebuild: Rebuilder;
}

export type { Check, CheckStatus } from "./lines.ts";

type Section = (
  ev: Evidence,
  options: VerifyOptions,
  deps: VerifyDeps,
  add: Add,
) => void | Promise<void>;

// In chain order: silicon, the statement, the OS, RTMR3, the KMS, the deployment, the source.
const SECTIONS: Section[] = [
  quoteSection,
  statementSection,
  (ev, o, _d, add) => osMeasurementLines(ev, o.osMeasurements, add),
  rtmr3Section,
  (ev, o, _d, add) => keyProvenanceLines(ev, o.kmsRoot, add),
  deploymentSection,
  (ev, o, d, add) => sourceChainLines(ev, o, d.rebuild, add),
  (ev, o, _d, add) => sourceLines(ev, o, add),
  reportSection,
  (ev, o, _d, add) => egressLogLines(ev, o, add),
  (ev, o, _d, add) => receiptLines(ev, o, add),
];

export async function verifyDeployment(options: VerifyOptions, deps: VerifyDeps): Promise<Check[]> {
  const checks: Check[] = [];
  const add: Add = (name, status, detail) => checks.push({ name, status, detail });
  const ev = await gather(options, add);
  if (!ev) return checks;
  for (const section of SECTIONS) await section(ev, options, deps, add);
  return checks;
}

async function gather(options: VerifyOptions, add: Add): Promise<Evidence | undefined> {
  const fetchFn = options.fetch ?? fetch;
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
  let attestation: AttestationResponse;
  try {
    const res = await fetchFn(`${baseUrl(options)}/attestation?nonce=${nonce}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    attestation = AttestationResponseSchema.parse(await res.json());
  } catch (err) {
    add("attestation", "fail", `GET /attestation failed: ${(err as Error).message}`);
    return undefined;
  }
  const ev: Evidence = { attestation, statement: attestation.statement, nonce, bound: false };
  if (!attestation.quote) return ev;
  try {
    ev.quote = parseTdxQuote(attestation.quote);
  } catch {
    return ev; // the quote section says why
  }
  ev.bound = toHex(ev.quote.reportData) === toHex(attestationReportData(ev.statement));
  try {
    const replayed = replayRtmr3(parseEventLog(attestation.eventLog ?? ""));
    if (replayed.forged.length === 0 && replayed.rtmr3 === ev.quote.rtmr[3]) ev.rtmr3 = replayed;
  } catch {
    // the RTMR3 section says why
  }
  return ev;
}

const baseUrl = (options: VerifyOptions) => options.url.replace(/\/+$/, "");

async function quoteSection(ev: Evidence, options: VerifyOptions, deps: VerifyDeps, add: Add) {
  const name = "TDX quote (Intel signature chain)";
  const { attestation } = ev;
  if (!attestation.quote)
    return add(name, "fail", `not attested: no quote (provider ${ev.statement.tee.provider})`);
  if (!ev.quote) {
    const why = (() => {
      try {
        parseTdxQuote(attestation.quote!);
        return "unknown";
      } catch (err) {
        return (err as Error).message;
      }
    })();
    return add(name, "fail", `the quote cannot be read: ${why}`);
  }
  const read = `TDX quote v${ev.quote.version}`;
  if (options.offline) {
    return add(
      name,
      "skipped",
      `${read} read, but --offline: its Intel signature chain was not checked, so every line proven against the quote holds only if the quote is genuine`,
    );
  }
  try {
    const result = await deps.verifyQuoteSignature(fromHex(attestation.quote), options.pccsUrl);
    add(name, "proven", `${read}: DCAP verification passed, TCB status ${result.status}`);
  } catch (err) {
    const message = (err as Error).message;
    if (/fetch|connect|ENOTFOUND|ECONNREFUSED|network|timed? ?out/i.test(message)) {
      add(name, "skipped", `collateral unreachable (${message}); run where the PCCS is reachable`);
    } else add(name, "fail", `the quote does not verify: ${message}`);
  }
}

function statementSection(ev: Evidence, options: VerifyOptions, _deps: VerifyDeps, add: Add) {
  const { statement, nonce } = ev;
  const known = ev.bound ? "proven" : "stated";
  if (!ev.quote) add("statement bound to the quote", "skipped", "no readable quote");
  else if (ev.bound)
    add(
      "statement bound to the quote",
      "proven",
      `report data = SHA-512(statement) = ${short(toHex(ev.quote.reportData))}`,
    );
  else
    add(
      "statement bound to the quote",
      "fail",
      `the quote's report data ${short(toHex(ev.quote.reportData))} is not SHA-512 of the statement ${short(toHex(attestationReportData(statement)))}`,
    );

  if (statement.nonce !== nonce)
    add(
      "fresh statement",
      "fail",
      `expected nonce ${nonce}, got ${statement.nonce ?? "none"} (a replayed or cached statement)`,
    );
  else
    add(
      "fresh statement",
      known,
      `carries this run's nonce ${nonce}${ev.bound ? "" : " (not bound to a quote)"}`,
    );

  if (options.pins.length === 0)
    add(
      "identity key pinned",
      "skipped",
      `kid ${statement.kid}; pass --pin <kid> to require a key you already trust`,
    );
  else if (!isPinned(statement, options.pins))
    add("identity key pinned", "fail", `kid ${statement.kid} is NOT among the pinned keys`);
  else add("identity key pinned", known, `kid ${statement.kid} is among the pinned keys`);
}

function rtmr3Section(ev: Evidence, _options: VerifyOptions, _deps: VerifyDeps, add: Add) {
  const name = "event log replays to RTMR3";
  const { attestation, quote, statement } = ev;
  if (!quote) {
    add(name, "skipped", "no readable quote");
  } else if (ev.rtmr3) {
    add(
      name,
      "proven",
      `RTMR3 ${short(ev.rtmr3.rtmr3)} recomputed from ${ev.rtmr3.payloads.size} runtime events`,
    );
  } else if (!attestation.eventLog) {
    add(name, "fail", "the server sent no event log");
  } else {
    let replayed: ReplayedLog;
    try {
      replayed = replayRtmr3(parseEventLog(attestation.eventLog));
    } catch (err) {
      add(name, "fail", `the event log cannot be read: ${(err as Error).message}`);
      return measuredLines(ev, statement.tee, add);
    }
    if (replayed.forged.length > 0)
      add(
        name,
        "fail",
        `event digests that are not the digest of their own content: ${replayed.forged.join(", ")}`,
      );
    else
      add(
        name,
        "fail",
        `replayed RTMR3 ${short(replayed.rtmr3)} ≠ the quote's ${short(quote.rtmr[3])}`,
      );
  }
  measuredLines(ev, statement.tee, add);
}

function measuredLines(
  ev: Evidence,
  tee: { appId: string | null; composeHash: string | null },
  add: Add,
) {
  for (const [event, value] of [
    ["app-id", tee.appId],
    ["compose-hash", tee.composeHash],
  ] as const) {
    const name = `statement ${event} is the measured one`;
    const measured = ev.rtmr3?.payloads.get(event);
    if (!ev.quote) add(name, "skipped", "no readable quote");
    else if (!ev.rtmr3) add(name, "fail", "no event log that replays to RTMR3");
    else if (!measured) add(name, "fail", `the event log has no ${event} event`);
    else if (value === null || measured !== value.toLowerCase())
      add(name, "fail", `measured ${measured}, the statement says ${value}`);
    else add(name, "proven", `${event} ${value} is in RTMR3`);
  }
}

function deploymentSection(ev: Evidence, options: VerifyOptions, _deps: VerifyDeps, add: Add) {
  const measured = (event: string) => ev.rtmr3?.payloads.get(event);
  compare(add, "app id", ev.statement.tee.appId, measured("app-id"), options.appId, "--app-id");
  compare(
    add,
    "compose hash",
    ev.statement.tee.composeHash,
    measured("compose-hash"),
    options.composeHash,
    "--compose-hash or --app-compose",
  );
}

/** A statement value against the user's: proven when RTMR3 carries it too, else stated. */
function compare(
  add: Add,
  name: string,
  stated: string | null,
  measured: string | undefined,
  expected: string | undefined,
  flag: string,
) {
  if (stated === null) return add(name, "fail", `the statement has no ${name}`);
  if (expected === undefined)
    return add(name, "skipped", `the server says ${stated}; pass ${flag} to compare with yours`);
  if (stated.toLowerCase() !== expected.toLowerCase())
    return add(name, "fail", `the server says ${stated}, you expect ${expected}`);
  if (measured === stated.toLowerCase())
    add(name, "proven", `${stated} is the one you expect, and RTMR3 carries it`);
  else add(name, "stated", `${stated} is the one you expect, but no replayed RTMR3 carries it`);
}

async function reportSection(ev: Evidence, options: VerifyOptions, _deps: VerifyDeps, add: Add) {
  const { statement } = ev;
  const name = `report /report/${options.app} bound`;
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
  try {
    const res = await (options.fetch ?? fetch)(
      `${baseUrl(options)}/report/${encodeURIComponent(options.app)}?nonce=${nonce}`,
      { headers: { accept: "application/json" } },
    );
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const report = (await res.json()) as Record<string, unknown>;
    checkReportBinding(report, nonce);
    const reported = report.attestation as
      | { identityKey?: string; binarySha256?: string | null }
      | undefined;
    if (
      reported?.identityKey !== statement.identityKey ||
      reported?.binarySha256 !== statement.binarySha256
    )
      throw new Error("the report names another identity key or binary than /attestation");
    const binding = report.binding as { quote: string | null; attested: boolean };
    if (binding.attested) add(name, "proven", "digest and fresh nonce in a quote's report data");
    else add(name, "stated", "digest and nonce consistent, but not attested: no quote binds them");
  } catch (err) {
    add(name, "fail", (err as Error).message);
  }
}
