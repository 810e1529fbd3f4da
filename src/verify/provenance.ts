// The verifier's provenance lines (DESIGN "Provenance, receipts and the public egress log"):
// the served source against the statement's treeSha256 (and against a local checkout), the
// public egress log's hash chain, and a receipt: made by one call with --invoke, or one the user
// captured with --receipt. Each line says proven (the statement is quote-bound and the check is
// recomputed here), stated (recomputed, but nothing binds the statement) or skipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromBase64Url, utf8 } from "../../sdk/crypto/encoding.ts";
import { fetchEgressLog, fetchSource } from "../../sdk/client/provenance.ts";
import {
  decodeReceiptHeader,
  RECEIPT_HEADER,
  sha256Hex,
  SignedReceiptSchema,
  statementSha256,
  verifyReceiptSignature,
  type SignedReceipt,
} from "../../sdk/wire/receipt.ts";
import type { VerifyOptions } from "./checks.ts";
import { short, type Add, type Evidence } from "./lines.ts";

const base = (options: VerifyOptions) => options.url.replace(/\/+$/, "");
const fetchOf = (options: VerifyOptions) => options.fetch ?? fetch;

export async function sourceLines(ev: Evidence, options: VerifyOptions, add: Add) {
  const known = ev.bound ? "proven" : "stated";
  const name = "source tree (GET /source)";
  const { source } = ev.statement;
  let checked;
  try {
    checked = await fetchSource(fetchOf(options), base(options), source.treeSha256, true);
  } catch (err) {
    return add(name, "fail", `GET /source: ${(err as Error).message}`);
  }
  const { listing, mismatched } = checked;
  if (listing.commit !== source.commit || listing.repository !== source.repository)
    return add(name, "fail", "the listing names another commit or repository than the statement");
  if (mismatched.length)
    return add(
      name,
      "fail",
      `served files that do not hash as listed: ${mismatched.slice(0, 5).join(", ")}${mismatched.length > 5 ? ` and ${mismatched.length - 5} more` : ""}`,
    );
  add(
    name,
    known,
    `${listing.files.length} files hash to treeSha256 ${short(listing.treeSha256)}, the statement's${ev.bound ? " (quote-bound)" : " (not bound to a quote)"}; commit ${source.commit ?? "unknown"} of ${source.repository}`,
  );

  if (!options.source)
    return add(
      "source matches your checkout",
      "skipped",
      "pass --source <checkout> to compare every served file with yours",
    );
  const differing = listing.files.filter((file) => {
    try {
      return (
        sha256Hex(new Uint8Array(readFileSync(join(options.source!, file.path)))) !== file.sha256
      );
    } catch {
      return true;
    }
  });
  if (differing.length)
    return add(
      "source matches your checkout",
      "fail",
      `files that differ from ${options.source} or are missing there: ${differing
        .slice(0, 5)
        .map((f) => f.path)
        .join(", ")}`,
    );
  add(
    "source matches your checkout",
    known,
    `all ${listing.files.length} served files are byte for byte the ones in ${options.source}`,
  );
}

export async function egressLogLines(ev: Evidence, options: VerifyOptions, add: Add) {
  const name = "egress log chain (GET /egress-log)";
  try {
    const { entries, head } = await fetchEgressLog(fetchOf(options), base(options));
    const first = entries[0];
    const from = first
      ? first.seq === 1
        ? "from genesis"
        : `from seq ${String(first.seq)} (older entries left the window)`
      : "empty";
    add(
      name,
      "stated",
      `${entries.length} entries chain ${from} to head ${short(head.digest)}; that every egress is logged is the measured code's promise`,
    );
  } catch (err) {
    add(name, "fail", (err as Error).message);
  }
  void ev;
}

export async function receiptLines(ev: Evidence, options: VerifyOptions, add: Add) {
  const name = "receipt";
  let signed: SignedReceipt | undefined;
  let bytes: { request: Uint8Array; response: Uint8Array; status: number } | undefined;
  if (options.invoke) {
    const request = utf8(JSON.stringify(options.invoke.input));
    const res = await fetchOf(options)(
      `${base(options)}/invoke/${encodeURIComponent(options.invoke.fn)}`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: request as Uint8Array<ArrayBuffer>,
      },
    );
    bytes = { request, response: new Uint8Array(await res.arrayBuffer()), status: res.status };
    signed = decodeReceiptHeader(res.headers.get(RECEIPT_HEADER));
    if (!signed)
      return add(
        name,
        "fail",
        `POST /invoke/${options.invoke.fn} answered ${res.status} without a receipt`,
      );
  } else if (options.receipt) {
    signed = parseReceipt(options.receipt);
    if (!signed)
      return add(
        name,
        "fail",
        "--receipt is neither a receipt header value nor { receipt, signature } JSON",
      );
  } else {
    return add(
      name,
      "skipped",
      "pass --invoke <fn> --input <json> to make a call and check its receipt, or --receipt <file> for one you captured",
    );
  }
  const { receipt } = signed;
  if (!(await verifyReceiptSignature(signed, fromBase64Url(ev.statement.identityKey))))
    return add(name, "fail", "the signature does not verify with the statement's identity key");
  if (receipt.statementSha256 !== statementSha256(ev.statement))
    return add(name, "fail", "it names another statement than this server's");
  if (
    bytes &&
    (receipt.requestSha256 !== sha256Hex(bytes.request) ||
      receipt.responseSha256 !== sha256Hex(bytes.response) ||
      receipt.status !== bytes.status)
  ) {
    return add(name, "fail", "its request or response digest, or its status, is not this call's");
  }
  const what =
    receipt.egress.length === 0
      ? "nothing left the TEE for the call"
      : `the call caused ${receipt.egress.length} egress entries: ${receipt.egress.map((e) => `${e.method} ${e.host}${e.path}`).join(", ")}`;
  add(
    name,
    ev.bound ? "proven" : "stated",
    `signed by the identity key for ${receipt.fn} (status ${receipt.status}${bytes ? ", this call's exact bytes" : ""}); ${what}`,
  );
  // Each entry the receipt names must be in the public log with that digest.
  if (receipt.egress.length === 0) return;
  const res = await fetchOf(options)(
    `${base(options)}/egress-log?fromSeq=${receipt.egress[0]!.seq}&limit=1000`,
  );
  if (!res.ok)
    return add(
      "receipt entries in the egress log",
      res.status === 410 ? "skipped" : "fail",
      `GET /egress-log answered ${res.status}`,
    );
  const logged = new Map(
    ((await res.json()) as { entries: { seq: number; digest: string }[] }).entries.map((e) => [
      e.seq,
      e.digest,
    ]),
  );
  const missing = receipt.egress.filter((e) => logged.get(e.seq) !== e.digest);
  if (missing.length)
    return add(
      "receipt entries in the egress log",
      "fail",
      `not in the log as the receipt names them: seq ${missing.map((e) => e.seq).join(", ")}`,
    );
  add(
    "receipt entries in the egress log",
    "stated",
    `all ${receipt.egress.length} entries are in the public log with those digests`,
  );
}

function parseReceipt(text: string): SignedReceipt | undefined {
  const trimmed = text.trim();
  const fromHeader = decodeReceiptHeader(trimmed);
  if (fromHeader) return fromHeader;
  try {
    const parsed = SignedReceiptSchema.safeParse(JSON.parse(trimmed));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
