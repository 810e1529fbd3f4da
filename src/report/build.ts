// GET /report/:app (DESIGN "Reports"): everything a person or an AI agent needs to judge an
// app's data flow, each claim labelled with how it is known.
import { toHex } from "../crypto/encoding.ts";
import type { ChannelDescription, EgressEntry, EgressLog, HostStats } from "../egress/index.ts";
import type { FunctionHost } from "../functions/host.ts";
import type { Attestor, Tee } from "../tee/index.ts";
import type { AttestationStatement } from "../../sdk/wire/attestation.ts";
import { reportBindingData, reportDigest } from "../../sdk/wire/report.ts";

export { REPORT_DOMAIN, reportBindingData } from "../../sdk/wire/report.ts";
const RECENT_EGRESS_ENTRIES = 50;

export type KnownBy = "hardware" | "derived" | "asserted";

export interface Claim {
  claim: string;
  knownBy: KnownBy;
  how: string;
}

export interface Report {
  v: 1;
  app: string;
  generatedAt: string;
  binarySha256: string | null;
  attestation: AttestationStatement;
  functions: {
    name: string;
    description: string;
    input: unknown;
    output: unknown;
    egress: { name: string; purpose: string; declaredUrl: string; url: string; host: string; origin: string; overriddenBy: string | null }[];
    secrets: string[];
    /** Callable from sessions as callTool(name, input). */
    sessionTool: boolean;
    sources: { path: string; sha256: string }[];
    sourceSha256: string;
  }[];
  /** Each destination as an origin (scheme://host[:port]): the policy admits exactly these. */
  egressPolicy: { fn: string; origin: string; host: string; url: string; operatorOverride: string | null }[];
  /** Where sealed state lives; a shared store is also an egress destination in egressPolicy. */
  stateStore: { kind: "sqlite" | "postgres" | "redis"; host: string | null; receives: string };
  /** Every network channel of the process besides function egress: where it goes, what it carries. */
  channels: ChannelDescription[];
  observedEgress: HostStats[];
  egressLog: { headDigest: string; recent: EgressEntry[] };
  claims: Claim[];
  verification: string[];
  binding?: ReportBinding;
}

export interface ReportBinding {
  nonce: string;
  /** SHA-256 of the canonical JSON of the report without `binding`. */
  reportSha256: string;
  /** SHA-512(REPORT_DOMAIN ‖ canonicalJSON({ nonce, reportSha256 })): the quote's report data. */
  reportData: string;
  quote: string | null;
  eventLog: string | null;
  attested: boolean;
}

export interface ReportDeps {
  host: FunctionHost;
  egressLog: EgressLog;
  attestor: Attestor;
  tee: Pick<Tee, "quote">;
  /** Read per report: the listener's port is known only once it listens. */
  channels: () => ChannelDescription[];
}


export function buildReport(app: string, deps: ReportDeps): Report | undefined {
  const functions = deps.host.list(app);
  if (functions.length === 0) return undefined;
  const channels = deps.channels();
  const statement = deps.attestor.statement;
  const overridden = functions.flatMap((f) => f.egress.filter((e) => e.overriddenBy));
  const store = deps.host.stateStore;
  const claims: Claim[] = [
    {
      claim: `the server's identity key is ${statement.identityKey.slice(0, 16)}… (kid ${statement.kid})`,
      knownBy: statement.tee.provider === "dstack" ? "hardware" : "asserted",
      how: statement.tee.provider === "dstack" ? "the statement's SHA-512 is the report data of the TDX quote from GET /attestation" : "dev provider: no TEE quote backs it",
    },
    {
      claim: statement.binarySha256 ? `the running binary is sha256 ${statement.binarySha256}` : "the server runs from source (no binary digest)",
      knownBy: statement.tee.provider === "dstack" ? "hardware" : "asserted",
      how: "binarySha256 is inside the quoted statement; rebuild the same commit (npm run build) and compare",
    },
    ...functions.map((f): Claim => ({
      claim: `${f.definition.name} was built from sources with digest ${f.sourceSha256}`,
      knownBy: "derived",
      how: "hash each listed file of that commit's functions/ folder and the list as canonical JSON; the binary that embeds them is the attested one",
    })),
    {
      claim: `${app}'s functions may reach only: ${[...new Set(functions.flatMap((f) => f.egress.map((e) => e.origin)))].join(", ")}`,
      knownBy: "derived",
      how: "the policy is the manifests' egress origins (scheme, host and port) in the attested sources, plus operator overrides listed here; the one audited fetch refuses every other origin, every https-to-http redirect, and drops credentials on any cross-origin redirect",
    },
    ...overridden.map((e): Claim => ({
      claim: `the operator replaced ${e.declaredUrl} with ${e.url} through ${e.overriddenBy}`,
      knownBy: "asserted",
      how: "operator configuration (dstack encrypted env); data for this upstream goes to the overriding host instead",
    })),
    {
      claim: store.host
        ? `sealed state lives in a shared ${store.kind} at ${store.host}, which receives only ciphertext and hashed record names`
        : "sealed state stays on this instance (bun:sqlite in its data dir), encrypted",
      knownBy: "derived",
      how: store.host
        ? "src/store seals every value with AES-256-GCM under the TEE sealing key (record name as AAD) and HMACs the names before the backend sees them; the store's location is operator configuration (AUDITOR_STATE_URL)"
        : "src/store seals every value with AES-256-GCM under the TEE sealing key before bun:sqlite writes it",
    },
    {
      claim: `besides function egress, the process opens only these channels: ${channels.filter((c) => c.destination).map((c) => `${c.name} (${c.destination})`).join(", ")}`,
      knownBy: "asserted",
      how: "src/egress/channel-guard.ts replaces every other network primitive at start-up (sockets, listeners, processes, WebSocket, SQL/Redis/S3 clients, DNS, native code) with one that refuses and records the attempt in the egress log (allowed: false), and refuses them all inside a function invocation; Bun.fetch cannot be replaced, so the static test keeps it out of src/ and functions/",
    },
    {
      claim: "observed egress and the egress log are as listed",
      knownBy: "asserted",
      how: "the log is hash-chained: recompute each entry's digest and its link to the previous one; the head digest is reported",
    },
  ];

  return {
    v: 1,
    app,
    generatedAt: new Date().toISOString(),
    binarySha256: statement.binarySha256,
    attestation: statement,
    functions: functions.map((f) => ({
      name: f.definition.name,
      description: f.definition.description,
      input: f.inputSchema,
      output: f.outputSchema,
      egress: f.egress,
      secrets: [...f.definition.secrets],
      sessionTool: f.definition.sessionTool === true,
      sources: f.sources,
      sourceSha256: f.sourceSha256,
    })),
    egressPolicy: [
      ...functions.flatMap((f) => f.egress.map((e) => ({ fn: f.definition.name, origin: e.origin, host: e.host, url: e.url, operatorOverride: e.overriddenBy }))),
      ...(store.host ? [{ fn: "(sealed state)", origin: store.origin!, host: store.host, url: store.origin!, operatorOverride: "AUDITOR_STATE_URL" }] : []),
    ],
    stateStore: {
      kind: store.kind,
      host: store.host ?? null,
      receives: store.host ? "AES-256-GCM ciphertext, HMAC-SHA256-hashed record names and expiry times; never a key or plaintext" : "nothing leaves the instance: bun:sqlite in the data dir, AES-256-GCM ciphertext",
    },
    channels,
    observedEgress: deps.egressLog.hostStats(app),
    egressLog: { headDigest: deps.egressLog.headDigest(), recent: deps.egressLog.list(app).slice(-RECENT_EGRESS_ENTRIES) },
    claims,
    verification: [
      "GET /attestation?nonce=<fresh random hex>. Check that the statement's nonce is yours and that SHA-512(\"auditor-attestation-v1:\" + canonical JSON of the statement) equals the quote's report data (bytes 568..631 of a v4 TDX quote).",
      "Verify the TDX quote's signature chain with a DCAP verifier (e.g. dcap-qvl or Phala's attestation service), and replay the event log to RTMR3: it must carry the statement's appId, composeHash and instanceId.",
      "Check that composeHash matches the docker compose you expect, whose image runs this binary; rebuild the commit (npm ci && npm run build) and compare its sha256 with binarySha256.",
      `Check that this report's attestation statement equals the one from step 1 (same identityKey, kid, binarySha256).`,
      "For each function, hash the listed source files at that commit and compare with sources[].sha256, then sourceSha256 = SHA-256(canonical JSON of the sources list). Read the sources: all network access goes through ctx.fetch, and the egress list is the manifest's.",
      "Compare egressPolicy with the manifests; any operatorOverride entry is an operator choice, stated plainly here.",
      "Recompute the egress log chain over egressLog.recent: digest = SHA-256(canonical JSON of the entry without digest), each prev equals the previous digest; the last digest equals headDigest.",
      "For a fresh binding, GET /report/<app>?nonce=<hex>: SHA-256 of the canonical JSON of the report without `binding` must equal binding.reportSha256, and SHA-512(\"auditor-report-v1:\" + canonical JSON of {nonce, reportSha256}) must equal binding.reportData and the quote's report data.",
    ],
  };
}

/** Adds a fresh quote over the report's digest and the verifier's nonce. */
export async function bindReport(report: Report, nonce: string, tee: Pick<Tee, "quote">): Promise<Report> {
  const reportSha256 = reportDigest(report as unknown as Record<string, unknown>);
  const reportData = reportBindingData(nonce, reportSha256);
  const quote = await tee.quote(reportData);
  return {
    ...report,
    binding: { nonce, reportSha256, reportData: toHex(reportData), quote: quote?.quote ?? null, eventLog: quote?.eventLog ?? null, attested: quote !== null },
  };
}
