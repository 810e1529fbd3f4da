// Wrong methods over real HTTP: a path that exists under another method is 405 with `Allow`
// and the JSON error shape; a path that does not exist stays 404.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";

let server: AuditorProcess;
beforeAll(async () => {
  server = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
});
afterAll(async () => {
  await server?.stop();
});

const GET_ONLY = "GET, HEAD, OPTIONS";
const POST_ONLY = "POST, OPTIONS";

describe("a wrong method on an existing route", () => {
  const cases: [method: string, path: string, allow: string][] = [
    ["GET", "/invoke/generate-prompt", POST_ONLY],
    ["PUT", "/invoke/no-such-fn", POST_ONLY],
    ["POST", "/attestation", GET_ONLY],
    ["DELETE", "/sessions", POST_ONLY],
    ["DELETE", "/sessions/ses_anything", GET_ONLY],
    ["GET", "/sessions/ses_anything/cancel", POST_ONLY],
    ["PATCH", "/sessions/ses_anything/input", POST_ONLY],
    ["GET", "/refs/resolve", POST_ONLY],
    ["POST", "/report/etherea", GET_ONLY],
    ["POST", "/healthz", GET_ONLY],
    ["POST", "/readyz", GET_ONLY],
    ["POST", "/", GET_ONLY],
    ["PUT", "/sdk/auditor-sdk.js", GET_ONLY],
  ];
  for (const [method, path, allow] of cases) {
    test(`${method} ${path} is 405, Allow: ${allow}`, async () => {
      const res = await fetch(`${server.url}${path}`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(await res.json()).toEqual({
        error: "method_not_allowed",
        message: `${method} ${path}: this route takes ${allow}`,
      });
    });
  }

  test("what Allow offers works: HEAD on a GET route, the CORS preflight", async () => {
    expect((await fetch(`${server.url}/healthz`, { method: "HEAD" })).status).toBe(200);
    const preflight = await fetch(`${server.url}/invoke/generate-prompt`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
  });

  test("a path no method serves is still 404, trailing slash and look-alikes included", async () => {
    for (const path of [
      "/no/such/route",
      "/attestation/",
      "/sdk/manifestXjson",
      "/sessions/a/b/c",
    ]) {
      const res = await fetch(`${server.url}${path}`, { method: "POST" });
      expect(res.status).toBe(404);
      expect(res.headers.get("allow")).toBeNull();
      expect(await res.json()).toEqual({
        error: "not_found",
        message: `no route for POST ${path}`,
      });
    }
  });
});
