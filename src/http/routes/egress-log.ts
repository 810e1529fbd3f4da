// GET /egress-log?fromSeq=N&limit=M (DESIGN "Provenance, receipts and the public egress log"):
// the public, hash-chained log of every outbound attempt, page by page, so anyone can follow
// it from genesis (or from where the in-memory window starts) and check each receipt's entries.
// GET /egress-log/stream?fromSeq=N: the same entries as NDJSON (at most a page of backlog; by
// default none), then every new one as it is recorded, for monitors and the dashboard.
import { Hono, type Context } from "hono";
import { z } from "zod";
import {
  EgressLogPageSchema,
  EgressStreamLineSchema,
  type EgressLogPage,
} from "../../../sdk/wire/egress-log.ts";
import type { EgressEntry, EgressLog } from "../../egress/index.ts";
import { apiError } from "../errors.ts";
import { named, type Operation } from "../operations.ts";
import { readQuery } from "../query.ts";

export const MAX_LOG_PAGE = 1000;
/** A stream whose reader falls this many entries behind is ended: it resumes with fromSeq. */
export const MAX_STREAM_BACKLOG = 1000;
/** A quiet stream says it is alive this often (its line carries the head). */
export const STREAM_HEARTBEAT_MS = 15_000;

export const EgressLogQuerySchema = z
  .object({
    fromSeq: z.coerce
      .number()
      .int()
      .min(1)
      .optional()
      .describe("The first seq to return (default: the oldest kept in memory)"),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_LOG_PAGE)
      .default(MAX_LOG_PAGE)
      .describe("Entries at most"),
  })
  .strict();

export const EgressStreamQuerySchema = z
  .object({
    fromSeq: z.coerce
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        `The first seq to send (default: the next one recorded; at most ${MAX_LOG_PAGE} back)`,
      ),
  })
  .strict();

/** 410: the asked-for entries left the in-memory window; the page starts at oldestSeq. */
export const EgressLogGoneSchema = z
  .object({ error: z.literal("gone"), message: z.string(), oldestSeq: z.number().int().min(1) })
  .strict();

export const egressLogOperations: Operation[] = [
  {
    method: "get",
    path: "/egress-log",
    operationId: "getEgressLog",
    tag: "provenance",
    summary: "A page of the public, hash-chained log of every outbound attempt",
    description:
      "Each entry's digest = SHA-256(JCS(entry without digest)); prev links to the entry before (64 zeros for seq 1). The log never holds bodies, query values or secrets.",
    query: EgressLogQuerySchema,
    responses: {
      200: {
        description: "The page and the head of the chain",
        content: { "application/json": named("EgressLogPage", EgressLogPageSchema) },
      },
      400: {
        description:
          "A query parameter is invalid, repeated or unknown, or fromSeq is past the head",
        errors: ["invalid_request"],
      },
      410: {
        description: "The entries from fromSeq left the in-memory window: ask from oldestSeq",
        content: { "application/json": named("EgressLogGone", EgressLogGoneSchema) },
      },
    },
  },
  {
    method: "get",
    path: "/egress-log/stream",
    operationId: "followEgressLog",
    tag: "provenance",
    summary: "The public egress log live, as NDJSON: each entry as it is recorded",
    description: `Lines: start, then an entry line per entry from fromSeq on, a heartbeat every ${STREAM_HEARTBEAT_MS / 1000} s while quiet, and lagging (with nextSeq) as the last line for a reader more than ${MAX_STREAM_BACKLOG} entries behind. The stream also ends when the server begins to shut down.`,
    query: EgressStreamQuerySchema,
    responses: {
      200: {
        description: "The stream; the schema is one line's",
        content: { "application/x-ndjson": named("EgressStreamLine", EgressStreamLineSchema) },
      },
      400: {
        description: `A query parameter is invalid, repeated or unknown, fromSeq is past the head or more than ${MAX_LOG_PAGE} entries back`,
        errors: ["invalid_request"],
      },
      410: {
        description: "The entries from fromSeq left the in-memory window: ask from oldestSeq",
        content: { "application/json": named("EgressLogGone", EgressLogGoneSchema) },
      },
    },
  },
];

/** `closing` ends every open stream (the server's drain): they would hold a shutdown open. */
export function egressLogRoutes(log: EgressLog, closing?: AbortSignal) {
  /** fromSeq checked against the log: past the head is 400, before the window 410. */
  const start = (c: Context, fromSeq: number): Response | undefined => {
    const head = log.logHead;
    if (fromSeq > head.seq + 1)
      return apiError(
        c,
        400,
        "invalid_request",
        `fromSeq: the log's head is seq ${head.seq}; ask for at most ${head.seq + 1}`,
      );
    if (fromSeq < log.oldestSeq) {
      const gone: z.infer<typeof EgressLogGoneSchema> = {
        error: "gone",
        message: `fromSeq: entries before seq ${log.oldestSeq} are no longer kept in memory`,
        oldestSeq: log.oldestSeq,
      };
      return c.json(gone, 410);
    }
    return undefined;
  };

  return new Hono()
    .get("/egress-log", (c) => {
      const query = readQuery(c, EgressLogQuerySchema, "invalid_request");
      if (query instanceof Response) return query;
      const { fromSeq = log.oldestSeq, limit } = query;
      const refused = start(c, fromSeq);
      if (refused) return refused;
      const page = log.page(fromSeq, limit);
      if ("gone" in page) return start(c, fromSeq)!;
      c.header("cache-control", "no-store");
      const body: EgressLogPage = {
        instanceId: log.instanceId,
        head: page.head,
        entries: page.entries,
      };
      return c.json(body);
    })
    .get("/egress-log/stream", (c) => {
      const query = readQuery(c, EgressStreamQuerySchema, "invalid_request");
      if (query instanceof Response) return query;
      const head = log.logHead.seq;
      const { fromSeq = head + 1 } = query;
      const refused = start(c, fromSeq);
      if (refused) return refused;
      if (fromSeq < head + 1 - MAX_LOG_PAGE) {
        return apiError(
          c,
          400,
          "invalid_request",
          `fromSeq: a stream replays at most ${MAX_LOG_PAGE} entries (from seq ${head + 1 - MAX_LOG_PAGE}); read older ones with GET /egress-log first`,
        );
      }
      return new Response(followLog(log, fromSeq, closing), {
        headers: {
          "content-type": "application/x-ndjson",
          "cache-control": "no-store",
          "x-accel-buffering": "no",
        },
      });
    });
}

/**
 * Lines: `{ type: "start", instanceId, head }`, then `{ type: "entry", entry }` for each entry
 * from fromSeq on, `{ type: "heartbeat", head }` while quiet, and `{ type: "lagging", nextSeq }`
 * as the last line when the reader fell too far behind.
 */
function followLog(
  log: EgressLog,
  fromSeq: number,
  closing?: AbortSignal,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);
  let stop = () => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        let nextSeq = fromSeq;
        let open = true;
        const send = (entry: EgressEntry) => {
          if (!open || entry.seq < nextSeq) return;
          if ((controller.desiredSize ?? 0) <= 0) {
            controller.enqueue(line({ type: "lagging", nextSeq }));
            return (stop(), controller.close());
          }
          controller.enqueue(line({ type: "entry", entry }));
          nextSeq = entry.seq + 1;
        };
        // Subscribe before reading the backlog, so nothing recorded in between is missed.
        const unsubscribe = log.subscribe(send);
        const heartbeat = setInterval(
          () => open && controller.enqueue(line({ type: "heartbeat", head: log.logHead })),
          STREAM_HEARTBEAT_MS,
        );
        const close = () => {
          if (!open) return;
          stop();
          controller.close();
        };
        stop = () => {
          open = false;
          unsubscribe();
          clearInterval(heartbeat);
          closing?.removeEventListener("abort", close);
        };
        closing?.addEventListener("abort", close);
        controller.enqueue(line({ type: "start", instanceId: log.instanceId, head: log.logHead }));
        const backlog = log.page(fromSeq, Number.MAX_SAFE_INTEGER);
        if (!("gone" in backlog)) for (const entry of backlog.entries) send(entry);
        if (closing?.aborted) close();
      },
      cancel() {
        stop();
      },
    },
    new CountQueuingStrategy({ highWaterMark: MAX_LOG_PAGE + MAX_STREAM_BACKLOG }),
  );
}
