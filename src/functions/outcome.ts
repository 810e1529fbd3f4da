// What an invocation comes to, in the functions' own terms: an output, or a failure of a named
// kind with the error body its caller is shown. The HTTP route turns a kind into a status
// (src/http/routes/functions.ts), a session's function tool into a tool error; neither decodes
// the other's encoding.
import type { z } from "zod";
import type { FieldIssue } from "../validation.ts";
import type { FUNCTION_FAILURE_STATUSES, FunctionErrorSchema } from "./define.ts";

export type FailureKind =
  /** No function of that name. */
  | "unknown_function"
  /** The input does not match the manifest's schema (issues name the fields). */
  | "invalid_input"
  /** The function chose to fail (e.g. every provider failed), with a status of its manifest's. */
  | "declined"
  /** The function produced output its manifest does not allow. */
  | "invalid_output"
  /** Sealed state could not be saved: the server's storage is full (nothing was lost). */
  | "state_full"
  /** The state store does not answer now; retrying shortly may work. */
  | "state_unreachable"
  /** Sealed state exists but cannot be opened (tampered, or another sealing key). */
  | "state_unreadable"
  /** The handler threw. */
  | "crashed";

export type FunctionErrorBody = z.input<typeof FunctionErrorSchema>;

export type InvokeOutcome =
  | { ok: true; output: unknown }
  | {
      ok: false;
      kind: FailureKind;
      /** What the caller is shown: `{ error, message?, issues?, … }`. */
      error: FunctionErrorBody & { issues?: FieldIssue[] };
      /** For `declined`: the status the function chose. */
      declinedStatus?: (typeof FUNCTION_FAILURE_STATUSES)[number];
      /** For `state_unreachable`: when a retry may work, in seconds. */
      retryAfterSeconds?: number;
    };
