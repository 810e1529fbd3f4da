// Each public egress log entry also as a structured log line for the operator, written as it is
// recorded, so it lands in the context of the request (or session) that caused it and carries
// that request's id. The public entries never name a request: their shape is a contract
// (DESIGN), and the line carries the entry's seq so either can be found from the other. The same
// metadata as the entry: never bodies, query values or secrets.
import type { Logger } from "../log.ts";
import type { EgressEntry, EgressLog } from "./log.ts";

/** What a line carries of an entry, in this order: metadata only (plus `error` when set). */
const LOGGED_FIELDS = [
  "seq",
  "app",
  "fn",
  "method",
  "scheme",
  "host",
  "path",
  "status",
  "allowed",
  "durationMs",
  "requestBytes",
  "responseBytes",
] as const satisfies readonly (keyof EgressEntry)[];

/** Logs every entry recorded from now on (blocked ones as warnings); returns the unsubscribe. */
export function logEgressEntries(egressLog: EgressLog, log: Logger): () => void {
  return egressLog.subscribe((entry) => {
    const fields: Record<string, unknown> = {};
    for (const key of LOGGED_FIELDS) fields[key] = entry[key];
    if (entry.error) fields.error = entry.error;
    if (entry.allowed) log.info("egress", fields);
    else log.warn("egress blocked", fields);
  });
}
