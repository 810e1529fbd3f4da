// GET /egress-log?fromSeq=N&limit=M (DESIGN "Provenance, receipts and the public egress log"):
// the public, hash-chained log of every outbound attempt, page by page, so anyone can follow
// it from genesis (or from where the in-memory window starts) and check each receipt's entries.
import { Hono } from "hono";
import { z } from "zod";
import { EgressLogPageSchema, type EgressLogPage } from "../../../sdk/wire/egress-log.ts";
import type { EgressLog } from "../../egress/index.ts";
import { apiError } from "../errors.ts";
import { named, type Operation } from "../operations.ts";
import { readQuery } from "../query.ts";

export const MAX_LOG_PAGE = 1000;

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
];

export function egressLogRoutes(log: EgressLog) {
  return new Hono().get("/egress-log", (c) => {
    const query = readQuery(c, EgressLogQuerySchema, "invalid_request");
    if (query instanceof Response) return query;
    const { fromSeq = log.oldestSeq, limit } = query;
    const head = log.logHead;
    if (fromSeq > head.seq + 1) return apiError(c, 400, "invalid_request", `fromSeq: the log's head is seq ${head.seq}; ask for at most ${head.seq + 1}`);
    const page = log.page(fromSeq, limit);
    c.header("cache-control", "no-store");
    if ("gone" in page) {
      const gone: z.infer<typeof EgressLogGoneSchema> = {
        error: "gone",
        message: `fromSeq: entries before seq ${page.oldestSeq} are no longer kept in memory`,
        oldestSeq: page.oldestSeq,
      };
      return c.json(gone, 410);
    }
    const body: EgressLogPage = {
      instanceId: log.instanceId,
      head: page.head,
      entries: page.entries,
    };
    return c.json(body);
  });
}
