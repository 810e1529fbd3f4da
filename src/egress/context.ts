// Which function is running: every outbound call is attributed to, and checked against, the
// function whose invocation it happens in. AsyncLocalStorage follows awaits and timers, so a
// library deep inside a handler is attributed too.
import { AsyncLocalStorage } from "node:async_hooks";
import type { EgressEntry } from "./log.ts";

export interface EgressCaller {
  app: string;
  fn: string;
  /** Origins (`scheme://host[:port]`, as URL.origin writes them) this caller may reach. */
  allowedOrigins: ReadonlySet<string>;
  /** The caller's secret values: a header carrying one never follows a cross-origin redirect. */
  secretValues: readonly string[];
  /** Receives every log entry this invocation causes (for its receipt), in order. */
  caused?: EgressEntry[];
}

const storage = new AsyncLocalStorage<EgressCaller>();

export function runAsCaller<T>(caller: EgressCaller, body: () => Promise<T>): Promise<T> {
  return storage.run(caller, body);
}

export function currentCaller(): EgressCaller | undefined {
  return storage.getStore();
}
