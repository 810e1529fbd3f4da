// Reads a route's query parameters with its zod schema (the one GET /openapi.json states), each
// parameter it names given at most once: `?format=a&format=b` is ambiguous, so it is refused
// rather than resolved by picking one. Parameters the schema does not name are left to it
// (a strict schema refuses them; others ignore them).
import type { Context } from "hono";
import type { z } from "zod";
import { apiError, describeIssues, toApiIssues } from "./errors.ts";

/** The parsed query, or the 400 response (naming each bad parameter) to send. */
export function readQuery<S extends z.ZodObject>(
  c: Context,
  schema: S,
  code: string,
): z.output<S> | Response {
  const all = c.req.queries();
  const repeated = Object.keys(schema.shape).find((name) => (all[name]?.length ?? 0) > 1);
  if (repeated) return apiError(c, 400, code, `${repeated}: give at most one`);
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(all).map(([name, values]) => [name, values[0]])),
  );
  if (parsed.success) return parsed.data;
  const issues = toApiIssues(parsed.error);
  return apiError(c, 400, code, describeIssues(issues), issues);
}
