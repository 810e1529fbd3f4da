// How long a store call may take before the instance stops waiting for it. A store that does
// not answer in time is treated as away (StoreUnavailableError, "timeout"), so an outage shows
// as a fast 503 and never as a request that hangs on a dead connection.
import { StoreUnavailableError } from "./errors.ts";

/**
 * STORE_CALL_TIMEOUT_MS = 2 s for one round trip (a read, a write, a lock command): a healthy
 * store answers in milliseconds, so 2 s is far past any legitimate call yet well inside what a
 * browser or a load balancer waits for an answer.
 */
export const STORE_CALL_TIMEOUT_MS = 2_000;

/**
 * STORE_UPDATE_TIMEOUT_MS = 5 s for a whole read-modify-write: the wait for the record's lock
 * (at most a crashed holder's Redis lease, 2 s), a read and a write, with room to spare.
 */
export const STORE_UPDATE_TIMEOUT_MS = 5_000;

/** How long to wait for a fresh connection to a shared store. */
export const STORE_CONNECT_TIMEOUT_MS = STORE_CALL_TIMEOUT_MS;

/**
 * `work`, or a StoreUnavailableError("timeout") once `ms` have passed. The work is not
 * cancelled (callers that can, do: see `onTimeout`); its late outcome is dropped.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void = () => {},
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      const message = `the state store did not answer ${what} within ${ms} ms`;
      reject(new StoreUnavailableError("timeout", message));
    }, ms);
  });
  work.catch(() => {}); // a late failure of abandoned work is not an unhandled rejection
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
