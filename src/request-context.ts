// The request a piece of work belongs to, so that every log line it causes carries the request's
// id without any module passing it by hand. AsyncLocalStorage follows awaits, promise callbacks
// and timers; work that arrives through another channel (a worker's message, a socket event)
// re-enters the context it belongs to with runInRequest. Neutral on purpose: the logger and
// domain code read it, the HTTP layer sets it, and none of them imports the other for it.
import { AsyncLocalStorage } from "node:async_hooks";

export interface RequestContext {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `body` as part of `context`'s request; with no context, as it is. */
export function runInRequest<T>(context: RequestContext | undefined, body: () => T): T {
  return context ? storage.run(context, body) : body();
}

/** The request the current work belongs to, if any. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}
