// The caller's AbortSignal on SDK calls: an abort rejects the call with the signal's reason
// (an AbortError DOMException unless the caller gave another), as fetch itself does.

/** Options every SDK call that does I/O takes. */
export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * `work`, or the signal's reason as soon as it aborts. The work itself goes on: used where
 * stopping midway would break a shared state (a cached statement several calls wait for, a
 * sealed control message whose seq the server may already have counted).
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Aborts `controller` when `signal` does (at once if it already has). */
export function follow(signal: AbortSignal | undefined, controller: AbortController): void {
  if (!signal) return;
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
}
