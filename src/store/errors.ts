// Sealed-state failures, shared by the store and its backends.

export class SealedStateError extends Error {
  override name = "SealedStateError";
}

/** The disk (or the operator's AUDITOR_STATE_MAX_BYTES) is full: nothing was written, nothing lost. */
export class SealedStateFullError extends SealedStateError {
  override name = "SealedStateFullError";
}

/**
 * Why the store did not answer, as a category: what health reports and logs may say (an
 * engine's own message can name hosts, users or keys, so it never leaves the store module).
 */
export type StoreFailure = "timeout" | "unreachable" | "auth" | "error";

/**
 * The store did not answer (down, unreachable, too slow, refusing us): the call may be retried
 * once it is back. An update that failed so was not acknowledged; whether it reached the store
 * before the failure is unknown, so callers retry rather than assume either way.
 */
export class StoreUnavailableError extends SealedStateError {
  override name = "StoreUnavailableError";
  constructor(
    readonly category: StoreFailure,
    message: string,
  ) {
    super(message);
  }
}
