// Structured logs: one JSON object a line on stdout. Callers pass fields, never request bodies
// or secret values. A line logged as part of a request carries that request's `requestId`
// (src/request-context.ts) unless the caller names one itself (a session's lines name the
// request that started it, whatever request or timer they are logged from).
import { currentRequest } from "./request-context.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line + "\n"),
  base: LogFields = {},
): Logger {
  const emit = (at: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    const requestId = currentRequest()?.requestId;
    const line = {
      ts: new Date().toISOString(),
      level: at,
      msg,
      ...(requestId === undefined ? {} : { requestId }),
      ...base,
      ...normalize(fields),
    };
    write(JSON.stringify(line));
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

/** Errors do not survive JSON.stringify; keep their name, message and stack. */
function normalize(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, stack: value.stack }
        : value;
  }
  return out;
}
