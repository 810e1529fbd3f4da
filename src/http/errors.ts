// One error shape for every endpoint: { error: code, message, issues? }. Never a stack trace.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

export interface ApiIssue {
  path: string;
  message: string;
}

/** The code of the error a request was answered with, for the metrics (see errorCodeOf). */
const answeredWith = new WeakMap<Context, string>();

/** Records the code of an error answer built elsewhere (a function's own error body). */
export function noteErrorCode(c: Context, code: string): void {
  answeredWith.set(c, code);
}

export function apiError(c: Context, status: ContentfulStatusCode, code: string, message: string, issues?: ApiIssue[]) {
  noteErrorCode(c, code);
  return c.json(issues ? { error: code, message, issues } : { error: code, message }, status);
}

/** The error code this request was answered with, if it was an error answer. */
export function errorCodeOf(c: Context): string | undefined {
  return answeredWith.get(c);
}

/** zod issues as `field: message` pairs a person can act on. */
export function toApiIssues(error: z.core.$ZodError, prefix = ""): ApiIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

export function describeIssues(issues: ApiIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
}
