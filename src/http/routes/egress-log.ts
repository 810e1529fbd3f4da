// GET /egress-log?fromSeq=N&limit=M (DESIGN "Provenance, receipts and the public egress log"):
// the public, hash-chained log of every outbound attempt, page by page, so anyone can follow
// it from genesis (or from where the in-memory window starts) and check each receipt's entries.
// GET /egress-log/stream?fromSeq=N: the same entries as NDJSON (at most a page of backlog; by
// default none), then every new one as it is recorded, for monitors and the dashboard.
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { EgressEntry, EgressLog } from "../../egress/index.ts";
import { apiError, describeIssues, toApiIssues } from "../errors.ts";

export const MAX_LOG_PAGE = 1000;
/** A stream whose reader falls this many entries behind is ended: it resumes with fromSeq. */
export const MAX_STREAM_BACKLOG = 1000;
/** A quiet stream says it is alive this often (its line carries the head). */
export const STREAM_HEARTBEAT_MS = 15_000;

const QuerySchema = z
  .object({
    fromSeq: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_LOG_PAGE).default(MAX_LOG_PAGE),
  })
  .strict();

const StreamQuerySchema = QuerySchema.pick({ fromSeq: true }).strict();

function badQuery(c: Context, error: z.ZodError) {
  const issues = toApiIssues(error);
  return apiError(c, 400, "invalid_request", describeIssues(issues), issues);
}

/** `closing` ends every open stream (the server's drain): they would hold a shutdown open. */
export function egressLogRoutes(log: EgressLog, closing?: AbortSignal) {
  /** fromSeq checked against the log: past the head is 400, before the window 410. */
  const start = (c: Context, fromSeq: number): Response | undefined => {
    const head = log.logHead;
    if (fromSeq > head.seq + 1) return apiError(c, 400, "invalid_request", `fromSeq: the log's head is seq ${head.seq}; ask for at most ${head.seq + 1}`);
    if (fromSeq < log.oldestSeq) {
      return c.json({ error: "gone", message: `fromSeq: entries before seq ${log.oldestSeq} are no longer kept in memory`, oldestSeq: log.oldestSeq }, 410);
    }
    return undefined;
  };

  return new Hono()
    .get("/egress-log", (c) => {
      const parsed = QuerySchema.safeParse(c.req.query());
      if (!parsed.success) return badQuery(c, parsed.error);
      const { fromSeq = log.oldestSeq, limit } = parsed.data;
      const refused = start(c, fromSeq);
      if (refused) return refused;
      const page = log.page(fromSeq, limit);
      c.header("cache-control", "no-store");
      if ("gone" in page) return start(c, fromSeq)!;
      return c.json({ instanceId: log.instanceId, head: page.head, entries: page.entries });
    })
    .get("/egress-log/stream", (c) => {
      const parsed = StreamQuerySchema.safeParse(c.req.query());
      if (!parsed.success) return badQuery(c, parsed.error);
      const head = log.logHead.seq;
      const { fromSeq = head + 1 } = parsed.data;
      const refused = start(c, fromSeq);
      if (refused) return refused;
      if (fromSeq < head + 1 - MAX_LOG_PAGE) {
        return apiError(c, 400, "invalid_request", `fromSeq: a stream replays at most ${MAX_LOG_PAGE} entries (from seq ${head + 1 - MAX_LOG_PAGE}); read older ones with GET /egress-log first`);
      }
      return new Response(followLog(log, fromSeq, closing), { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store", "x-accel-buffering": "no" } });
    });
}

/**
 * Lines: `{ type: "start", instanceId, head }`, then `{ type: "entry", entry }` for each entry
 * from fromSeq on, `{ type: "heartbeat", head }` while quiet, and `{ type: "lagging", nextSeq }`
 * as the last line when the reader fell too far behind.
 */
function followLog(log: EgressLog, fromSeq: number, closing?: AbortSignal): ReadableStream<Uint8Array> {
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
            return stop(), controller.close();
          }
          controller.enqueue(line({ type: "entry", entry }));
          nextSeq = entry.seq + 1;
        };
        // Subscribe before reading the backlog, so nothing recorded in between is missed.
        const unsubscribe = log.subscribe(send);
        const heartbeat = setInterval(() => open && controller.enqueue(line({ type: "heartbeat", head: log.logHead })), STREAM_HEARTBEAT_MS);
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
