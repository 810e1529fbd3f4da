// The public egress log's contract (DESIGN "Provenance, receipts and the public egress log"),
// for verifiers: GET /egress-log pages and the hash chain over them. seq runs from 1 per
// instance, prev of seq 1 is 64 zeros, digest = SHA-256(JCS(entry without digest)).
import { z } from "zod/mini";
import { sha256 } from "@noble/hashes/sha2";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { toHex, utf8 } from "../crypto/encoding.ts";
import { LogHeadSchema } from "./receipt.ts";

export const GENESIS_DIGEST = "0".repeat(64);

const Hex64 = z.string().check(z.regex(/^[0-9a-f]{64}$/));

export const EgressLogEntrySchema = z.strictObject({
  seq: z.number().check(z.int(), z.gte(1)),
  prev: Hex64,
  digest: Hex64,
  time: z.string(),
  app: z.string(),
  fn: z.string(),
  method: z.string(),
  scheme: z.string(),
  host: z.string(),
  path: z.string(),
  queryKeys: z.array(z.string()),
  status: z.nullable(z.number().check(z.int())),
  requestBytes: z.number().check(z.int(), z.gte(0)),
  responseBytes: z.number().check(z.int(), z.gte(0)),
  requestSha256: z.nullable(Hex64),
  responseSha256: z.nullable(Hex64),
  durationMs: z.number().check(z.gte(0)),
  allowed: z.boolean(),
  error: z.optional(z.string()),
});
export type EgressLogEntry = z.infer<typeof EgressLogEntrySchema>;

export const EgressLogPageSchema = z.strictObject({
  instanceId: z.string(),
  head: LogHeadSchema,
  entries: z.array(EgressLogEntrySchema),
});
export type EgressLogPage = z.infer<typeof EgressLogPageSchema>;

/** One line of GET /egress-log/stream. */
export const EgressStreamLineSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("start"), instanceId: z.string(), head: LogHeadSchema }),
  z.strictObject({ type: z.literal("entry"), entry: EgressLogEntrySchema }),
  z.strictObject({ type: z.literal("heartbeat"), head: LogHeadSchema }),
  /** The reader fell too far behind: the stream ends; resume from nextSeq. */
  z.strictObject({ type: z.literal("lagging"), nextSeq: z.number().check(z.int(), z.gte(1)) }),
]);
export type EgressStreamLine = z.infer<typeof EgressStreamLineSchema>;

/** SHA-256 (hex) of the canonical JSON of an entry without its digest. */
export function egressEntryDigest(entry: EgressLogEntry): string {
  const { digest: _digest, ...rest } = entry;
  return toHex(sha256(utf8(canonicalJson(rest))));
}

/**
 * The seq of the first entry that does not link to the one before it or whose digest is
 * wrong; undefined when the chain holds. A chain starting at seq 1 must start from genesis;
 * one starting later (older entries left the window) starts from its first entry's prev.
 */
export function chainBreak(entries: readonly EgressLogEntry[]): number | undefined {
  const first = entries[0];
  let prev = first?.seq === 1 ? GENESIS_DIGEST : first?.prev;
  for (const [i, entry] of entries.entries()) {
    if (
      (i > 0 && entry.seq !== entries[i - 1]!.seq + 1) ||
      entry.prev !== prev ||
      egressEntryDigest(entry) !== entry.digest
    )
      return entry.seq;
    prev = entry.digest;
  }
  return undefined;
}
