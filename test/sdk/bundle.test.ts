// The browser bundle as the server serves it: cache headers, size, source map, and that the
// served file itself works when imported.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";

let server: AuditorProcess;
beforeAll(async () => {
  server = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
});
afterAll(async () => {
  await server?.stop();
});

describe("GET /sdk", () => {
  test("a content-hashed immutable file, a stable alias that revalidates, a source map; any origin may load them", async () => {
    const manifest = await (await fetch(`${server.url}/sdk/manifest.json`)).json();
    expect(manifest.js).toMatch(/^\/sdk\/auditor-sdk\.[0-9a-f]{16}\.js$/);
    const hashed = await fetch(`${server.url}${manifest.js}`, {
      headers: { origin: "https://elsewhere.example" },
    });
    expect(hashed.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(hashed.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(hashed.headers.get("access-control-allow-origin")).toBe("*");
    const code = await hashed.text();
    expect(code).toEndWith(`//# sourceMappingURL=${manifest.js.slice("/sdk/".length)}.map\n`);

    const alias = await fetch(`${server.url}/sdk/auditor-sdk.js`);
    expect(alias.headers.get("cache-control")).toBe("no-cache");
    expect(await alias.text()).toBe(code);
    const etag = alias.headers.get("etag")!;
    expect(
      (await fetch(`${server.url}/sdk/auditor-sdk.js`, { headers: { "if-none-match": etag } }))
        .status,
    ).toBe(304);

    const map = await (await fetch(`${server.url}${manifest.map}`)).json();
    expect(map.sources.some((s: string) => s === "sdk/client/session.ts")).toBe(true);
    expect(map.sources.every((s: string) => !s.startsWith("/"))).toBe(true);
  });

  test("under 30 KB gzipped", async () => {
    const code = await (await fetch(`${server.url}/sdk/auditor-sdk.js`)).arrayBuffer();
    expect(gzipSync(new Uint8Array(code), { level: 9 }).length).toBeLessThan(30 * 1024);
  });

  test("one copy of each dependency, and none of the server's", async () => {
    const manifest = await (await fetch(`${server.url}/sdk/manifest.json`)).json();
    const { sources } = (await (await fetch(`${server.url}${manifest.map}`)).json()) as {
      sources: string[];
    };
    // node_modules/<package>/… or node_modules/<a>/node_modules/<package>/…: each package once.
    const copies = new Map<string, Set<string>>();
    for (const source of sources) {
      const match = /^(.*node_modules\/)((?:@[^/]+\/)?[^/]+)\//.exec(source);
      if (match) copies.set(match[2]!, (copies.get(match[2]!) ?? new Set()).add(match[1]!));
    }
    expect([...copies.keys()].sort()).toEqual(["@noble/hashes", "zod"]);
    for (const [name, roots] of copies)
      expect({ name, roots: [...roots] }).toEqual({ name, roots: ["node_modules/"] });
    expect(sources.some((s) => s.startsWith("src/"))).toBe(false);
  });

  test("the served file works: import it and call the server", async () => {
    const code = await (await fetch(`${server.url}/sdk/auditor-sdk.js`)).text();
    const file = join(tempDir(), "auditor-sdk.js");
    writeFileSync(file, code);
    const sdk = await import(file);
    const session = await sdk
      .createClient({ baseUrl: server.url })
      .sessions.start("return (await callTool('echo', { n: 41 })).n + 1;");
    expect(await session.result()).toBe(42);
  });

  test("declarations are only in the compiled binary (npm run build)", async () => {
    const res = await fetch(`${server.url}/sdk/auditor-sdk.d.ts`);
    expect(res.status).toBe(404);
    expect((await res.json()).message).toContain("npm run build");
  });
});
