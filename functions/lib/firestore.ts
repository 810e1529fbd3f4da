// The seed's log_to_firestore, finished: an optional analytics sink that writes each generated
// prompt record to Firestore's REST API. Configured by a service account (FIRESTORE_SERVICE_ACCOUNT,
// a JWT signed with WebCrypto and exchanged for a token) or by the emulator
// (FIRESTORE_EMULATOR_HOST: no auth). Both hosts are declared egress, so the report shows them and
// the audited fetch refuses any other (a service account's token_uri included). It never fails
// the caller: the call that made the record waits for the write (so its receipt lists that
// egress), up to a timeout, and a write is dropped when too many are in flight.
import { fromBase64, toBase64Url, utf8 } from "../../sdk/crypto/encoding.ts";

export const FIRESTORE_DEFAULT_URL = "https://firestore.googleapis.com";
export const GOOGLE_OAUTH_URL = "https://oauth2.googleapis.com";
/**
 * Each analytics request (token exchange, write) gives up after this long: the call that made
 * the record waits for it, so its receipt lists every egress it caused.
 */
const WRITE_TIMEOUT_MS = 2_000;
const MAX_IN_FLIGHT = 64;

export const FIRESTORE_EGRESS = [
  {
    name: "firestore",
    url: FIRESTORE_DEFAULT_URL,
    overrideEnv: "FIRESTORE_EMULATOR_HOST",
    purpose:
      "analytics, only when configured: each prompt record (session id, transcript, prompt, style tags, provider)",
    enabledWhen: ["FIRESTORE_SERVICE_ACCOUNT", "FIRESTORE_EMULATOR_HOST"],
  },
  {
    name: "google-oauth",
    url: GOOGLE_OAUTH_URL,
    purpose: "analytics, only with a service account: exchanges its signed JWT for an access token",
    enabledWhen: ["FIRESTORE_SERVICE_ACCOUNT"],
  },
];
export const FIRESTORE_SECRETS = ["FIRESTORE_SERVICE_ACCOUNT"];

interface ServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
}

export interface SinkContext {
  fetch: typeof fetch;
  upstreams: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string | undefined>>;
  log: { warn(message: string, fields?: Record<string, unknown>): void };
}

export type PromptRecord = Record<string, string>;

let inFlight = 0;
/** Per service account: the token (or the exchange in flight, so concurrent writes share it). */
const tokens = new Map<string, Promise<{ token: string; expiresAt: number }>>();

/**
 * Writes the record, or drops it with a warning; never throws. The caller awaits it (bounded by
 * WRITE_TIMEOUT_MS per request) so the write is part of the call and of its receipt.
 */
export async function logPrompt(ctx: SinkContext, record: PromptRecord): Promise<void> {
  const emulator =
    ctx.upstreams.firestore !== undefined && ctx.upstreams.firestore !== FIRESTORE_DEFAULT_URL;
  const accountJson = ctx.secrets.FIRESTORE_SERVICE_ACCOUNT;
  if (!emulator && !accountJson) return; // not configured: no analytics, no egress
  if (inFlight >= MAX_IN_FLIGHT) return ctx.log.warn("analytics sink busy; record dropped");
  inFlight++;
  await write(ctx, record, emulator, accountJson)
    .catch((err) => ctx.log.warn("analytics write failed", { reason: (err as Error).message }))
    .finally(() => inFlight--);
}

async function write(
  ctx: SinkContext,
  record: PromptRecord,
  emulator: boolean,
  accountJson: string | undefined,
): Promise<void> {
  const account = accountJson ? (JSON.parse(accountJson) as ServiceAccount) : undefined;
  const project = account?.project_id ?? "demo-etherea";
  const token = emulator ? "owner" : await accessToken(ctx, account!);
  const fields = Object.fromEntries(
    Object.entries(record).map(([k, v]) => [k, { stringValue: v }]),
  );
  fields.created_at = { timestampValue: new Date().toISOString() } as unknown as {
    stringValue: string;
  };
  const res = await ctx.fetch(
    `${ctx.upstreams.firestore}/v1/projects/${encodeURIComponent(project)}/databases/(default)/documents/prompts`,
    {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ fields }),
      signal: AbortSignal.timeout(WRITE_TIMEOUT_MS),
    },
  );
  if (!res.ok) throw new Error(`Firestore answered HTTP ${res.status}`);
}

/** An OAuth access token for the service account, cached until a minute before it expires. */
async function accessToken(ctx: SinkContext, account: ServiceAccount): Promise<string> {
  const start = () => {
    const exchange = exchangeToken(ctx, account);
    tokens.set(account.client_email, exchange);
    exchange.catch(
      () => tokens.get(account.client_email) === exchange && tokens.delete(account.client_email),
    );
    return exchange;
  };
  // Set synchronously, so writes that arrive together share one exchange.
  const entry = tokens.get(account.client_email) ?? start();
  const token = await entry;
  if (token.expiresAt > Date.now() + 60_000) return token.token;
  return (
    await (tokens.get(account.client_email) === entry ? start() : tokens.get(account.client_email)!)
  ).token;
}

async function exchangeToken(
  ctx: SinkContext,
  account: ServiceAccount,
): Promise<{ token: string; expiresAt: number }> {
  const assertion = await signJwt(account, ctx.upstreams["google-oauth"] ?? GOOGLE_OAUTH_URL);
  const res = await ctx.fetch(`${ctx.upstreams["google-oauth"] ?? GOOGLE_OAUTH_URL}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion,
    }).toString(),
    signal: AbortSignal.timeout(WRITE_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`the token exchange answered HTTP ${res.status}`);
  const { access_token, expires_in } = (await res.json()) as {
    access_token: string;
    expires_in: number;
  };
  return { token: access_token, expiresAt: Date.now() + expires_in * 1000 };
}

/** RS256 JWT for Google's OAuth JWT-bearer grant, signed with WebCrypto. */
export async function signJwt(
  account: ServiceAccount,
  oauthUrl: string,
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  const encode = (value: object) => toBase64Url(utf8(JSON.stringify(value)));
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ iss: account.client_email, scope: "https://www.googleapis.com/auth/datastore", aud: `${oauthUrl}/token`, iat: now, exp: now + 3600 })}`;
  const der = fromBase64(
    account.private_key.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, ""),
  );
  const key = await crypto.subtle.importKey(
    "pkcs8",
    der as Uint8Array<ArrayBuffer>,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, utf8(unsigned) as Uint8Array<ArrayBuffer>),
  );
  return `${unsigned}.${toBase64Url(signature)}`;
}
