// Whether the state store answers, as the instance last saw it: every store call reports its
// outcome here, so /readyz, the report and a dashboard read one object instead of asking the
// store again. It holds categories and times only, never an engine's message (which can name
// hosts, users or keys).
import type { StoreFailure } from "./errors.ts";

export interface StoreHealthReport {
  /** The last call (or probe) reached the store and it answered. */
  ok: boolean;
  /** When `ok` last changed (ISO 8601); the open time until the first change. */
  since: string;
  /** The category of the most recent failure, or null when there was none. */
  lastError: StoreFailure | null;
}

export class StoreHealth {
  private ok = true;
  private since: number;
  private lastError: StoreFailure | null = null;

  constructor(private readonly now: () => number = Date.now) {
    this.since = now();
  }

  succeeded(): void {
    if (!this.ok) [this.ok, this.since] = [true, this.now()];
  }

  failed(category: StoreFailure): void {
    this.lastError = category;
    if (this.ok) [this.ok, this.since] = [false, this.now()];
  }

  get report(): StoreHealthReport {
    return { ok: this.ok, since: new Date(this.since).toISOString(), lastError: this.lastError };
  }
}

// PostgreSQL SQLSTATE classes and codes (Appendix A of its manual): 08 connection exceptions,
// 57P01-57P03 shutdown and start-up, 28 authorization, 57014 statement_timeout, 55P03
// lock_timeout.
const PG_UNREACHABLE = /^(08|57P0[1-3])/;
const PG_AUTH = /^28/;
const PG_TIMEOUT = /^(57014|55P03)$/;
const AUTH_WORDS = /NOAUTH|WRONGPASS|AUTHENTICATION/i;
const UNREACHABLE_CODES = /CONNECTION|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|ETIMEDOUT/;

/** The category of an error a store client threw (not one of ours). */
export function categorize(err: unknown): StoreFailure {
  const fields = (err ?? {}) as { code?: unknown; errno?: unknown; message?: unknown };
  const { code, errno, message } = fields;
  const state = typeof errno === "string" ? errno : "";
  const text = typeof message === "string" ? message : "";
  const name = typeof code === "string" ? code : "";
  if (PG_TIMEOUT.test(state) || /TIMEOUT/.test(name)) return "timeout";
  if (PG_AUTH.test(state) || AUTH_WORDS.test(`${name} ${text}`)) return "auth";
  if (PG_UNREACHABLE.test(state) || UNREACHABLE_CODES.test(name)) return "unreachable";
  if (/connection|closed|refused|reset/i.test(text)) return "unreachable";
  return "error";
}
