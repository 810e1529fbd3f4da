// The report contract (DESIGN "Reports" and "Provenance, receipts and the public egress log"),
// one zod definition shared by the server (which parses what it serves in tests) and clients:
// GET /report/:app, and its binding, a fresh quote over a verifier's nonce and the report's digest.
import { z } from "zod";
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
export const KnownBySchema = z.enum(["hardware", "derived", "measured-code", "operator", "not attested"]);
export type KnownBy = z.infer<typeof KnownBySchema>;

export const ClaimSchema = z.object({ claim: z.string(), knownBy: KnownBySchema, how: z.string() }).strict();
export type Claim = z.infer<typeof ClaimSchema>;

const EgressUseSchema = z
  .object({
    name: z.string(),
    purpose: z.string(),
    declaredUrl: z.string(),
    url: z.string(),
    host: z.string(),
    origin: z.string(),
    overriddenBy: z.string().nullable(),
    /** Whether the function sends anything there with the configuration it runs with now. */
    enabled: z.boolean(),
    enabledBecause: z.string(),
  })
  .strict();

const SourceRefSchema = z.object({ path: z.string(), sha256: z.string() }).strict();

const FunctionEntrySchema = z
  .object({
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
  })
  .strict();

const ChannelSchema = z
  .object({
    name: z.string(),
    direction: z.enum(["inbound", "outbound"]),
    destination: z.string().nullable(),
    carries: z.string(),
    setBy: z.string().nullable(),
  })
  .strict();

const HostStatsSchema = z
  .object({ scheme: z.string(), host: z.string(), calls: z.number(), blocked: z.number(), requestBytes: z.number(), responseBytes: z.number(), lastSeen: z.string() })
  .strict();

const SettingSchema = z.object({ value: z.union([z.string(), z.number(), z.boolean(), z.null()]), knownBy: KnownBySchema, setBy: z.string().nullable(), meaning: z.string() }).strict();

export const ReportSchema = z
  .object({
    v: z.literal(1),
    app: z.string(),
    generatedAt: z.string(),
    binarySha256: z.string().nullable(),
    attestation: AttestationStatementSchema,
    /** Whether a TDX quote backs the statement (false in dev mode: nothing here is attested). */
    attested: z.boolean(),
    source: SourceProvenanceSchema,
    functions: z.array(FunctionEntrySchema),
    /** Each destination as an origin (scheme://host[:port]): the policy admits exactly these. */
    egressPolicy: z.array(z.object({ fn: z.string(), origin: z.string(), host: z.string(), url: z.string(), operatorOverride: z.string().nullable(), enabled: z.boolean() }).strict()),
    stateStore: z.object({ kind: z.enum(["sqlite", "postgres", "redis"]), host: z.string().nullable(), receives: z.string() }).strict(),
    channels: z.array(ChannelSchema),
    /** What the server runs with right now, as the measured code states it (values, never secrets). */
    configuration: z.record(z.string(), SettingSchema),
    sessions: z
      .object({
        endpoints: z.array(z.string()),
        creation: z.string(),
        tools: z.array(z.object({ name: z.string(), kind: z.enum(["demo", "input", "function"]), description: z.string() }).strict()),
        maxima: z.record(z.string(), z.number()),
      })
      .strict(),
    sessionIds: z.object({ rule: z.string(), holderCanSee: z.string() }).strict(),
    observedEgress: z.array(HostStatsSchema),
    egressLog: z
      .object({
        instanceId: z.string(),
        head: z.object({ seq: z.number().int(), digest: z.string() }).strict(),
        /** The head digest, as before (equal to head.digest). */
        headDigest: z.string(),
        url: z.string(),
        recent: z.array(z.record(z.string(), z.unknown())),
      })
      .strict(),
    claims: z.array(ClaimSchema),
    /** Every formula a verifier needs, exactly. */
    definitions: z.record(z.string(), z.string()),
    verification: z.array(z.string()),
    binding: z
      .object({ nonce: z.string(), reportSha256: z.string(), reportData: z.string(), quote: z.string().nullable(), eventLog: z.string().nullable(), attested: z.boolean() })
      .strict()
      .optional(),
  })
  .strict();
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
