// How a value that failed its zod schema is described to whoever sent it, in every layer: one
// `{ path, message }` per invalid field, and one sentence naming them. HTTP answers carry these
// as `issues`; function tools and sessions say the same words.
import { z } from "zod";

export const FieldIssueSchema = z.object({ path: z.string(), message: z.string() }).strict();
export type FieldIssue = z.infer<typeof FieldIssueSchema>;

/** zod issues as `field: message` pairs a person can act on; `prefix` names the enclosing field. */
export function fieldIssues(error: z.core.$ZodError, prefix = ""): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

export function describeIssues(issues: FieldIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
}
