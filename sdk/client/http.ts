// One place where the SDK talks HTTP: network failures and non-2xx answers become typed errors.
import { HttpError, NetworkError } from "./errors.ts";

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export async function send(fetchFn: Fetch, url: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url, init);
  } catch (err) {
    // The caller's abort is not a network failure: it rejects with the signal's reason.
    if (init.signal?.aborted) throw init.signal.reason;
    throw new NetworkError(
      `could not reach ${url}: ${(err as Error)?.message ?? String(err)}`,
      err,
    );
  }
  return response;
}

/** The error for a non-2xx response, with the server's `{ error, message }` when it sent JSON. */
export async function httpError(response: Response, message?: string): Promise<HttpError> {
  const text = await response.text().catch(() => "");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  const code =
    typeof (body as { error?: unknown })?.error === "string"
      ? (body as { error: string }).error
      : undefined;
  const detail =
    typeof (body as { message?: unknown })?.message === "string"
      ? `: ${(body as { message: string }).message}`
      : "";
  return new HttpError(
    message ?? `HTTP ${response.status}${code ? ` ${code}` : ""}${detail}`,
    response.status,
    code,
    body,
  );
}

export async function json<T = unknown>(
  fetchFn: Fetch,
  url: string,
  init: RequestInit = {},
): Promise<T> {
  const response = await send(fetchFn, url, init);
  if (!response.ok) throw await httpError(response);
  return (await response.json()) as T;
}
