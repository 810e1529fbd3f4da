// The Firestore sink's service-account path: an RS256 JWT signed with WebCrypto, exchanged once
// for a token that is then reused, and writes that never throw into the caller.
import { describe, expect, test } from "bun:test";
import { fromBase64Url, toBase64 } from "../../sdk/crypto/encoding.ts";
import {
  FIRESTORE_DEFAULT_URL,
  GOOGLE_OAUTH_URL,
  logPrompt,
} from "../../functions/lib/firestore.ts";

async function serviceAccount() {
  const pair = (await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${toBase64(pkcs8)
    .match(/.{1,64}/g)!
    .join("\n")}\n-----END PRIVATE KEY-----\n`;
  return {
    publicKey: pair.publicKey,
    json: JSON.stringify({
      project_id: "etherea-prod",
      client_email: "auditor@etherea-prod.iam.gserviceaccount.com",
      private_key: pem,
    }),
  };
}

describe("Firestore sink with a service account", () => {
  test("signs a JWT the account's public key verifies, exchanges it once, writes with the token", async () => {
    const account = await serviceAccount();
    const calls: { url: string; body: string; auth: string | null }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      calls.push({
        url,
        body: String(init.body),
        auth: new Headers(init.headers).get("authorization"),
      });
      if (url.endsWith("/token"))
        return Response.json({ access_token: "ya29.fake", expires_in: 3600 });
      return Response.json({ name: "doc" });
    }) as unknown as typeof fetch;
    const warnings: string[] = [];
    const ctx = {
      fetch: fakeFetch,
      upstreams: { firestore: FIRESTORE_DEFAULT_URL, "google-oauth": GOOGLE_OAUTH_URL },
      secrets: { FIRESTORE_SERVICE_ACCOUNT: account.json },
      log: { warn: (m: string) => void warnings.push(m) },
    };
    logPrompt(ctx, { session_id: "s1", prompt: "p1" });
    logPrompt(ctx, { session_id: "s1", prompt: "p2" });
    for (let i = 0; i < 100 && calls.filter((c) => c.url.includes("documents")).length < 2; i++)
      await Bun.sleep(5);

    const tokenCalls = calls.filter((c) => c.url === `${GOOGLE_OAUTH_URL}/token`);
    expect(tokenCalls).toHaveLength(1); // concurrent first writes share one exchange
    const form = new URLSearchParams(tokenCalls[0]!.body);
    expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    const [header, claims, signature] = form.get("assertion")!.split(".");
    expect(JSON.parse(new TextDecoder().decode(fromBase64Url(header!)))).toEqual({
      alg: "RS256",
      typ: "JWT",
    });
    const body = JSON.parse(new TextDecoder().decode(fromBase64Url(claims!)));
    expect(body).toMatchObject({
      iss: "auditor@etherea-prod.iam.gserviceaccount.com",
      aud: `${GOOGLE_OAUTH_URL}/token`,
      scope: "https://www.googleapis.com/auth/datastore",
    });
    expect(body.exp - body.iat).toBe(3600);
    const valid = await crypto.subtle.verify(
      "RSASSA-PKCS1-v1_5",
      account.publicKey,
      fromBase64Url(signature!) as Uint8Array<ArrayBuffer>,
      new TextEncoder().encode(`${header}.${claims}`),
    );
    expect(valid).toBe(true);

    const writes = calls.filter((c) => c.url.includes("documents"));
    expect(writes[0]!.url).toBe(
      `${FIRESTORE_DEFAULT_URL}/v1/projects/etherea-prod/databases/(default)/documents/prompts`,
    );
    expect(writes.every((w) => w.auth === "Bearer ya29.fake")).toBe(true);
    logPrompt(ctx, { session_id: "s1", prompt: "p3" });
    for (let i = 0; i < 100 && calls.filter((c) => c.url.includes("documents")).length < 3; i++)
      await Bun.sleep(5);
    expect(calls.filter((c) => c.url.endsWith("/token")).length).toBe(tokenCalls.length); // cached
    expect(warnings).toEqual([]);
  });

  test("a failing token exchange is a warning, never an exception in the caller", async () => {
    const account = await serviceAccount();
    const warnings: string[] = [];
    const ctx = {
      fetch: (async () => new Response("no", { status: 401 })) as unknown as typeof fetch,
      upstreams: { firestore: FIRESTORE_DEFAULT_URL },
      secrets: { FIRESTORE_SERVICE_ACCOUNT: account.json.replace("auditor@", "other@") },
      log: { warn: (m: string) => void warnings.push(m) },
    };
    expect(() => logPrompt(ctx, { prompt: "x" })).not.toThrow();
    for (let i = 0; i < 100 && warnings.length === 0; i++) await Bun.sleep(5);
    expect(warnings).toEqual(["analytics write failed"]);
  });
});
