// The one fetch of the process. Replacing globalThis.fetch at start-up means no library can
// reach the network around it: each call is checked against the calling function's egress
// policy before any byte leaves, and recorded (never its bodies) in the egress log. A policy
// names origins (scheme, host, port), redirects are re-checked hop by hop, a hop from https to
// anything else is refused, and credentials never follow a hop to another origin.
import { concatBytes } from "../../sdk/crypto/encoding.ts";
import { currentCaller, type EgressCaller } from "./context.ts";
import type { EgressLog, EgressRecord } from "./log.ts";

/** Upstream replies larger than this are refused, so a hostile upstream cannot exhaust memory. */
export const MAX_EGRESS_RESPONSE_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export class EgressBlockedError extends Error {
  override name = "EgressBlockedError";
}

export class EgressResponseTooLargeError extends Error {
  override name = "EgressResponseTooLargeError";
}

/** `host` or `host:port` in lower case, as the log and per-host totals name destinations. */
export function hostOf(url: URL): string {
  return url.host.toLowerCase();
}

/**
 * What a policy names: scheme, host and port (`https://api.anthropic.com`, `http://127.0.0.1:9`;
 * default ports omitted, as URL.origin writes them). A policy for https never admits http.
 */
export function originOf(url: URL): string {
  return url.origin;
}

/** Headers that carry credentials by their name; cross-origin hops never get them. */
const CREDENTIAL_HEADERS = ["authorization", "proxy-authorization", "x-api-key", "cookie"];
/** Body headers dropped with the body when a redirect turns the request into a GET. */
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];

/**
 * On a hop to another origin, drops the credential headers and every header whose value
 * contains one of the calling function's secrets (so a key in a custom header is dropped too).
 */
function dropCredentials(headers: Headers, secretValues: readonly string[]): void {
  for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  const leaking = [...headers].filter(([, value]) =>
    secretValues.some((secret) => value.includes(secret)),
  );
  for (const [name] of leaking) headers.delete(name);
}

type Fetch = typeof fetch;

export function createAuditedFetch(
  upstream: Fetch,
  log: EgressLog,
  maxResponseBytes = MAX_EGRESS_RESPONSE_BYTES,
): Fetch {
  const audited = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const follow = request.redirect === "follow";
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const headers = new Headers(request.headers);
    let url = new URL(request.url);
    let previous: URL | undefined;
    let method = request.method;
    let payload = body;
    for (let hop = 0; ; hop++) {
      const response = await auditedHop(url, previous, method, headers, payload, request.signal);
      const location = response.headers.get("location");
      // Redirects are followed here, hop by hop, so each new origin meets the policy too.
      if (!follow || !location || ![301, 302, 303, 307, 308].includes(response.status))
        return response;
      if (hop >= MAX_REDIRECTS)
        throw new TypeError(`too many redirects (more than ${MAX_REDIRECTS})`);
      const next = new URL(location, url);
      if (originOf(next) !== originOf(url))
        dropCredentials(headers, currentCaller()?.secretValues ?? []);
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === "POST")
      ) {
        method = "GET";
        payload = undefined;
        for (const name of BODY_HEADERS) headers.delete(name);
      }
      previous = url;
      url = next;
    }
  };

  /** Why this hop may not leave, or undefined when it may. */
  function refusal(
    caller: EgressCaller | undefined,
    url: URL,
    previous: URL | undefined,
  ): string | undefined {
    const origin =
      url.protocol === "https:" || url.protocol === "http:" ? originOf(url) : url.protocol;
    if (!caller) return `egress to ${origin} outside any function`;
    if (url.protocol !== "https:" && url.protocol !== "http:")
      return `scheme ${url.protocol} is not http(s)`;
    if (previous?.protocol === "https:" && url.protocol !== "https:")
      return `a redirect from https to ${origin} (no downgrade)`;
    if (!caller.allowedOrigins.has(origin))
      return `${origin} is not in the egress policy of ${caller.app}/${caller.fn}`;
    return undefined;
  }

  async function auditedHop(
    url: URL,
    previous: URL | undefined,
    method: string,
    headers: Headers,
    body: Uint8Array | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    const caller = currentCaller();
    const started = performance.now();
    const base: Omit<
      EgressRecord,
      "status" | "responseBytes" | "responseSha256" | "durationMs" | "allowed"
    > = {
      time: new Date().toISOString(),
      app: caller?.app ?? "-",
      fn: caller?.fn ?? "-",
      method,
      scheme: url.protocol.replace(/:$/, ""),
      host: hostOf(url),
      path: url.pathname,
      queryKeys: [...new Set(url.searchParams.keys())],
      requestBytes: body?.length ?? 0,
      requestSha256: body ? sha256Hex(body) : null,
    };
    const finish = (
      fields: Pick<EgressRecord, "status" | "responseBytes" | "responseSha256" | "allowed"> & {
        error?: string;
      },
    ) =>
      log.record({
        ...base,
        ...fields,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });

    const refused = refusal(caller, url, previous);
    if (refused) {
      const downgrade = previous?.protocol === "https:" && url.protocol !== "https:";
      finish({
        status: null,
        responseBytes: 0,
        responseSha256: null,
        allowed: false,
        error: downgrade ? "blocked: https to http redirect" : "blocked by egress policy",
      });
      throw new EgressBlockedError(`egress refused: ${refused}`);
    }

    let response: Response;
    try {
      response = await upstream(url, {
        method,
        headers,
        body: body as Uint8Array<ArrayBuffer> | undefined,
        signal,
        redirect: "manual",
      });
    } catch (err) {
      finish({
        status: null,
        responseBytes: 0,
        responseSha256: null,
        allowed: true,
        error: (err as Error).name,
      });
      throw err;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(response, maxResponseBytes);
    } catch (err) {
      finish({
        status: response.status,
        responseBytes: 0,
        responseSha256: null,
        allowed: true,
        error: (err as Error).name,
      });
      throw err;
    }
    finish({
      status: response.status,
      responseBytes: bytes.length,
      responseSha256: sha256Hex(bytes),
      allowed: true,
    });
    return new Response(bytes as Uint8Array<ArrayBuffer>, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  return Object.assign(audited, { preconnect: () => {} }) as Fetch;
}

async function readCapped(response: Response, max: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    total += chunk.value.length;
    if (total > max) {
      await reader.cancel();
      throw new EgressResponseTooLargeError(`upstream reply exceeds ${max} bytes`);
    }
    chunks.push(chunk.value);
  }
  return concatBytes(...chunks);
}

function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

let installed = false;

/** Replaces the process-wide fetch. Returns the audited fetch; idempotent per process. */
export function installAuditedFetch(log: EgressLog): Fetch {
  if (installed) throw new Error("audited fetch is already installed");
  const audited = createAuditedFetch(globalThis.fetch.bind(globalThis), log);
  globalThis.fetch = audited;
  installed = true;
  return audited;
}
