// Typed errors of the SDK: callers can tell a dead network from a refusal, a protocol violation,
// a handshake they must not trust, and a session that hit a limit.

export class AuditorError extends Error {
  override name = "AuditorError";
}

/** fetch itself failed (DNS, connection refused, reset) or the stream broke and could not resume. */
export class NetworkError extends AuditorError {
  override name = "NetworkError";
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** The server answered with a non-2xx status; `code` and `body` are its JSON error, when it sent one. */
export class HttpError extends AuditorError {
  override name = "HttpError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** The server sent something the protocol does not allow: a bad line, a seq gap, an envelope that does not open. */
export class ProtocolError extends AuditorError {
  override name = "ProtocolError";
}

/** The server's identity could not be trusted: an unpinned key, a bad signature, a quote that does not match. */
export class HandshakeError extends AuditorError {
  override name = "HandshakeError";
}

/** The caller asked for a verified receipt and the answer's receipt is missing, forged or not this call's. */
export class ReceiptError extends AuditorError {
  override name = "ReceiptError";
}

/** Run failure codes that mean a limit was hit. */
export const LIMIT_CODES = new Set([
  "timeout",
  "cpu_limit",
  "memory_limit",
  "max_tool_calls",
  "max_concurrent_tool_calls",
  "stdout_limit",
  "output_limit",
]);

/** The session hit one of its limits (`code` is the run's failure code). */
export class LimitError extends AuditorError {
  override name = "LimitError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The session ended without a result: the script failed, was cancelled, or the server closed it. */
export class SessionFailedError extends AuditorError {
  override name = "SessionFailedError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
