// The report contract (DESIGN "Reports" and "Provenance, receipts and the public egress log"),
// one zod definition shared by the server (which parses what it serves in tests) and clients:
// GET /report/:app, and its binding, a fresh quote over a verifier's nonce and the report's digest.
import { z } from "zod/mini";
import { sha256, sha512 } from "@noble/hashes/sha2";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { toHex, utf8 } from "../crypto/encoding.ts";
import { AttestationStatementSchema } from "./attestation.ts";
import { SourceProvenanceSchema } from "./source.ts";

export const REPORT_DOMAIN = "auditor-report-v1:";

/**
 * How a claim is known: `hardware` (in the TDX quote), `derived` (a verifier recomputes it),
 * `measured-code` (stated by the attested binary about itself: as trustworthy as the
 * attestation), `operator` (a deployer's choice outside the measurement), and `not attested`
 * for what would lean on a quote the server does not have (dev mode).
 */
export const KnownBySchema = z.enum([
  "hardware",
  "derived",
  "measured-code",
  "operator",
  "not attested",
]);
export type KnownBy = z.infer<typeof KnownBySchema>;

export const ClaimSchema = z.strictObject({
  claim: z.string(),
  knownBy: KnownBySchema,
  how: z.string(),
});
export type Claim = z.infer<typeof ClaimSchema>;

const EgressUseSchema = z.strictObject({
  name: z.string(),
  purpose: z.string(),
  declaredUrl: z.string(),
  url: z.string(),
  host: z.string(),
  origin: z.string(),
  overriddenBy: z.nullable(z.string()),
  /** Whether the function sends anything there with the configuration it runs with now. */
  enabled: z.boolean(),
  enabledBecause: z.string(),
});

const SourceRefSchema = z.strictObject({ path: z.string(), sha256: z.string() });

const FunctionEntrySchema = z.strictObject({
  name: z.string(),
  description: z.string(),
  input: z.unknown(),
  output: z.unknown(),
  egress: z.array(EgressUseSchema),
  secrets: z.array(z.string()),
  /** Callable from sessions as callTool(name, input). */
  sessionTool: z.boolean(),
  /** Repository paths, the same files GET /source serves. */
  sources: z.array(SourceRefSchema),
  sourceSha256: z.string(),
});

const ChannelSchema = z.strictObject({
  name: z.string(),
  direction: z.enum(["inbound", "outbound"]),
  destination: z.nullable(z.string()),
  carries: z.string(),
  setBy: z.nullable(z.string()),
});

const HostStatsSchema = z.strictObject({
  scheme: z.string(),
  host: z.string(),
  calls: z.number(),
  blocked: z.number(),
  requestBytes: z.number(),
  responseBytes: z.number(),
  lastSeen: z.string(),
});

const SettingSchema = z.strictObject({
  value: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  knownBy: KnownBySchema,
  setBy: z.nullable(z.string()),
  meaning: z.string(),
});

export const ReportSchema = z.strictObject({
  v: z.literal(1),
  app: z.string(),
  generatedAt: z.string(),
  binarySha256: z.nullable(z.string()),
  attestation: AttestationStatementSchema,
  /** Whether a TDX quote backs the statement (false in dev mode: nothing here is attested). */
  attested: z.boolean(),
  source: SourceProvenanceSchema,
  functions: z.array(FunctionEntrySchema),
  /** Each destination as an origin (scheme://host[:port]): the policy admits exactly these. */
  egressPolicy: z.array(
    z.strictObject({
      fn: z.string(),
      origin: z.string(),
      host: z.string(),
      url: z.string(),
      operatorOverride: z.nullable(z.string()),
      enabled: z.boolean(),
    }),
  ),
  stateStore: z.strictObject({
    kind: z.enum(["sqlite", "postgres", "redis"]),
    host: z.nullable(z.string()),
    receives: z.string(),
  }),
  channels: z.array(ChannelSchema),
  /** What the server runs with right now, as the measured code states it (values, never secrets). */
  configuration: z.record(z.string(), SettingSchema),
  sessions: z.strictObject({
    endpoints: z.array(z.string()),
    creation: z.string(),
    tools: z.array(
      z.strictObject({
        name: z.string(),
        kind: z.enum(["demo", "input", "function"]),
        description: z.string(),
      }),
    ),
    maxima: z.record(z.string(), z.number()),
  }),
  sessionIds: z.strictObject({ rule: z.string(), holderCanSee: z.string() }),
  observedEgress: z.array(HostStatsSchema),
  egressLog: z.strictObject({
    instanceId: z.string(),
    head: z.strictObject({ seq: z.number().check(z.int()), digest: z.string() }),
    /** The head digest, as before (equal to head.digest). */
    headDigest: z.string(),
    url: z.string(),
    recent: z.array(z.record(z.string(), z.unknown())),
  }),
  claims: z.array(ClaimSchema),
  /** Every formula a verifier needs, exactly. */
  definitions: z.record(z.string(), z.string()),
  verification: z.array(z.string()),
  binding: z.optional(
    z.strictObject({
      nonce: z.string(),
      reportSha256: z.string(),
      reportData: z.string(),
      quote: z.nullable(z.string()),
      eventLog: z.nullable(z.string()),
      attested: z.boolean(),
    }),
  ),
});
export type Report = z.infer<typeof ReportSchema>;
export type ReportBinding = NonNullable<Report["binding"]>;

/** SHA-512(REPORT_DOMAIN ‖ canonicalJSON({ nonce, reportSha256 })): the quote's report data. */
export function reportBindingData(nonce: string, reportSha256: string): Uint8Array {
  return sha512(utf8(REPORT_DOMAIN + canonicalJson({ nonce, reportSha256 })));
}

/** SHA-256 (hex) of the canonical JSON of a report without its `binding`. */
export function reportDigest(report: Record<string, unknown>): string {
  const { binding: _binding, ...unbound } = report;
  return toHex(sha256(utf8(canonicalJson(unbound))));
}
