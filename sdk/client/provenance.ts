// Reading what the server publishes about itself, checked as it is read: the public egress log
// (every page, the hash chain from genesis or from where the window starts, up to the head) and
// the source listing (its tree digest recomputed and compared with the statement's). A check
// that fails is a ProtocolError naming what broke.
import {
  chainBreak,
  EgressLogPageSchema,
  EgressStreamLineSchema,
  type EgressLogEntry,
} from "../wire/egress-log.ts";
import { type LogHeadSchema, sha256Hex } from "../wire/receipt.ts";
import { SourceListingSchema, treeSha256, type SourceListing } from "../wire/source.ts";
import type { z } from "zod/mini";
import { ProtocolError } from "./errors.ts";
import { httpError, json, send, type Fetch } from "./http.ts";
import { ndjsonLines } from "./ndjson.ts";
import { parseWire } from "./parse.ts";

export interface CheckedEgressLog {
  instanceId: string;
  head: z.infer<typeof LogHeadSchema>;
  /** Oldest first; they start at seq 1 (genesis) unless older ones left the server's window. */
  entries: EgressLogEntry[];
  fromGenesis: boolean;
}

const MAX_PAGES = 1_000;

export async function fetchEgressLog(
  fetchFn: Fetch,
  baseUrl: string,
  signal?: AbortSignal,
): Promise<CheckedEgressLog> {
  const read = async (fromSeq?: number) => {
    const raw = await json(
      fetchFn,
      `${baseUrl}/egress-log${fromSeq ? `?fromSeq=${fromSeq}` : ""}`,
      signal ? { signal } : {},
    );
    const parsed = parseWire(EgressLogPageSchema, raw);
    if (!parsed.success)
      throw new ProtocolError(
        `the egress log page does not match the schema: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  };
  let page = await read();
  const entries = [...page.entries];
  // New entries may land while this reads: follow pages until the last one reaches its head.
  for (let pages = 1; entries.length > 0 && entries.at(-1)!.seq < page.head.seq; pages++) {
    if (pages >= MAX_PAGES)
      throw new ProtocolError(`the egress log did not reach its head in ${MAX_PAGES} pages`);
    const next = await read(entries.at(-1)!.seq + 1);
    if (next.instanceId !== page.instanceId)
      throw new ProtocolError("the egress log changed instance while it was read");
    if (next.entries.length === 0 && next.head.seq > entries.at(-1)!.seq)
      throw new ProtocolError("the egress log page is empty before its head");
    page = next;
    entries.push(...page.entries);
  }
  const broken = chainBreak(entries);
  if (broken !== undefined)
    throw new ProtocolError(`the egress log's hash chain breaks at seq ${broken}`);
  const tail = entries.at(-1);
  if (tail ? tail.seq !== page.head.seq || tail.digest !== page.head.digest : page.head.seq !== 0) {
    throw new ProtocolError("the egress log's last entry is not its head");
  }
  return {
    instanceId: page.instanceId,
    head: page.head,
    entries,
    fromGenesis: entries.length === 0 || entries[0]!.seq === 1,
  };
}

export interface FollowOptions {
  /** The last entry already checked (from egressLog()); none: the log is empty, start at seq 1. */
  after?: EgressLogEntry;
  instanceId: string;
  signal?: AbortSignal;
}

/**
 * GET /egress-log/stream from after.seq + 1 (or seq 1): yields each new entry once it is checked to
 * continue the chain (prev, seq and digest), resuming by itself when the server says the reader
 * lagged. It ends when the server ends the stream; a break in the chain is a ProtocolError.
 */
export async function* followEgressLog(
  fetchFn: Fetch,
  baseUrl: string,
  options: FollowOptions,
): AsyncGenerator<EgressLogEntry> {
  let last = options.after;
  for (;;) {
    const response = await send(
      fetchFn,
      `${baseUrl}/egress-log/stream?fromSeq=${(last?.seq ?? 0) + 1}`,
      options.signal ? { signal: options.signal } : {},
    );
    if (!response.ok || !response.body) throw await httpError(response);
    let lagged = false;
    for await (const { text, complete } of ndjsonLines(response.body)) {
      if (!complete) break;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw new ProtocolError("an egress log stream line is not JSON");
      }
      const parsed = parseWire(EgressStreamLineSchema, raw);
      if (!parsed.success)
        throw new ProtocolError(
          `an egress log stream line does not match the schema: ${parsed.error.issues[0]?.message}`,
        );
      const line = parsed.data;
      if (line.type === "start" && line.instanceId !== options.instanceId)
        throw new ProtocolError("the egress log stream is another instance's chain");
      if (line.type === "lagging") lagged = true;
      if (line.type !== "entry") continue;
      const broken = last
        ? chainBreak([last, line.entry])
        : line.entry.seq === 1
          ? chainBreak([line.entry])
          : line.entry.seq;
      if (broken !== undefined)
        throw new ProtocolError(`the egress log's hash chain breaks at seq ${broken}`);
      last = line.entry;
      yield line.entry;
    }
    if (!lagged) return;
  }
}

export interface CheckedSource {
  listing: SourceListing;
  /** Paths whose served bytes did not hash as listed (only when every file was fetched). */
  mismatched: string[];
}

/**
 * GET /source with its tree digest recomputed and compared with `expectedTreeSha256` (the
 * statement's); with `everyFile`, each listed file is fetched and hashed too.
 */
export async function fetchSource(
  fetchFn: Fetch,
  baseUrl: string,
  expectedTreeSha256: string,
  everyFile = false,
  signal?: AbortSignal,
): Promise<CheckedSource> {
  const aborts = signal ? { signal } : {};
  const parsed = parseWire(SourceListingSchema, await json(fetchFn, `${baseUrl}/source`, aborts));
  if (!parsed.success)
    throw new ProtocolError(
      `the source listing does not match the schema: ${parsed.error.issues[0]?.message}`,
    );
  const listing = parsed.data;
  const recomputed = treeSha256(listing.files);
  if (recomputed !== listing.treeSha256)
    throw new ProtocolError("the source listing's files do not hash to its treeSha256");
  if (recomputed !== expectedTreeSha256)
    throw new ProtocolError("the source listing is not the tree the statement names");
  const mismatched: string[] = [];
  if (everyFile) {
    for (const file of listing.files) {
      const response = await send(
        fetchFn,
        `${baseUrl}/source/${file.path.split("/").map(encodeURIComponent).join("/")}`,
        aborts,
      );
      if (!response.ok) throw await httpError(response);
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (bytes.length !== file.bytes || sha256Hex(bytes) !== file.sha256)
        mismatched.push(file.path);
    }
  }
  return { listing, mismatched };
}
