// Sealed-state failures, shared by the store and its backends.

export class SealedStateError extends Error {
  override name = "SealedStateError";
}

/** The disk (or the operator's AUDITOR_STATE_MAX_BYTES) is full: nothing was written, nothing lost. */
export class SealedStateFullError extends SealedStateError {
  override name = "SealedStateFullError";
}
