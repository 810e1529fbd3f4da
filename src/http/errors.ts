// One error shape for every endpoint: { error: code, message, issues? }. Never a stack trace.
// The zod schema is the shape's one definition: apiError builds it, GET /openapi.json states it.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { FieldIssueSchema, type FieldIssue } from "../validation.ts";

export { describeIssues, fieldIssues as toApiIssues } from "../validation.ts";
/** An answer's `issues`: the domain's field issues, as they are. */
export const ApiIssueSchema = FieldIssueSchema;
export type ApiIssue = FieldIssue;

/** The code of the error a request was answered with, for the metrics (see errorCodeOf). */
const answeredWith = new WeakMap<Context, string>();

/** Records the code of an error answer built elsewhere (a function's own error body). */
export function noteErrorCode(c: Context, code: string): void {
  answeredWith.set(c, code);
}

export const ApiErrorSchema = z
  .object({
    /** A stable code a program can branch on. */
    error: z.string(),
    /** For a person: names the field or the limit. */
    message: z.string(),
    /** Each invalid field, when the request failed validation. */
    issues: z.array(ApiIssueSchema).optional(),
  })
  .strict();
export type ApiError = z.infer<typeof ApiErrorSchema>;

export function apiError(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  issues?: ApiIssue[],
) {
  noteErrorCode(c, code);
  const body: ApiError = issues ? { error: code, message, issues } : { error: code, message };
  return c.json(body, status);
}

/** The error code this request was answered with, if it was an error answer. */
export function errorCodeOf(c: Context): string | undefined {
  return answeredWith.get(c);
}
