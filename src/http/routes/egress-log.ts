// GET /egress-log?fromSeq=N&limit=M (DESIGN "Provenance, receipts and the public egress log"):
// the public, hash-chained log of every outbound attempt, page by page, so anyone can follow
// it from genesis (or from where the in-memory window starts) and check each receipt's entries.
import { Hono } from "hono";
import { z } from "zod";
import type { EgressLog } from "../../egress/index.ts";
import { apiError, describeIssues, toApiIssues } from "../errors.ts";

export const MAX_LOG_PAGE = 1000;

const QuerySchema = z
  .object({
    fromSeq: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_LOG_PAGE).default(MAX_LOG_PAGE),
  })
  .strict();

export function egressLogRoutes(log: EgressLog) {
  return new Hono().get("/egress-log", (c) => {
    const parsed = QuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const issues = toApiIssues(parsed.error);
      return apiError(c, 400, "invalid_request", describeIssues(issues), issues);
    }
    const { fromSeq = log.oldestSeq, limit } = parsed.data;
    const head = log.logHead;
    if (fromSeq > head.seq + 1) return apiError(c, 400, "invalid_request", `fromSeq: the log's head is seq ${head.seq}; ask for at most ${head.seq + 1}`);
    const page = log.page(fromSeq, limit);
    c.header("cache-control", "no-store");
    if ("gone" in page) {
      return c.json({ error: "gone", message: `fromSeq: entries before seq ${page.oldestSeq} are no longer kept in memory`, oldestSeq: page.oldestSeq }, 410);
    }
    return c.json({ instanceId: log.instanceId, head: page.head, entries: page.entries });
  });
}
