// Static guarantee behind "every egress is audited": function modules may reach the network only
// through ctx.fetch. Each file in functions/ is parsed with meriyah (after stripping types) and
// any other network path (raw sockets, http clients, Bun APIs, WebSocket, the global fetch,
// dynamic import or require) fails the test.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseModule } from "meriyah";

const FUNCTIONS_DIR = join(import.meta.dir, "../../functions");
const ALLOWED_PACKAGES = new Set(["zod"]);
// Byte encodings and the source-tree lookup (the registry names the embedded files) are pure
// helpers (checked below to have no network path themselves).
const ALLOWED_SRC_IMPORTS =
  /^(\.\.\/)+(src\/(functions\/define|source\/index)|sdk\/crypto\/encoding)\.ts$/;
const FORBIDDEN_GLOBALS = new Set([
  "fetch",
  "Bun",
  "WebSocket",
  "XMLHttpRequest",
  "EventSource",
  "globalThis",
  "global",
  "self",
  "window",
  "process",
  "require",
  "navigator",
  "eval",
  "Function",
  "Deno",
  "importScripts",
]);

type Node = { type: string; [key: string]: unknown };

function stripTypes(source: string): string {
  // The transpiler would try to run macros; checked as a plain import, the macro module must
  // still be on the allowlist.
  const withoutMacros = source.replace(/\s+with\s*\{\s*type:\s*"macro"\s*\}/g, "");
  return new Bun.Transpiler({ loader: "ts", trimUnusedImports: false }).transformSync(
    withoutMacros,
  );
}

/** Returns one message per network path found outside ctx.fetch. */
export function findNetworkPaths(source: string): string[] {
  const problems: string[] = [];
  const ast = parseModule(stripTypes(source), { next: true, loc: true }) as unknown as Node;
  const checkSource = (value: unknown, where: string) => {
    if (typeof value !== "string") return problems.push(`${where}: computed module specifier`);
    if (value.startsWith("./") || (value.startsWith("../") && !/(^|\/)(src|sdk)\//.test(value)))
      return;
    if (ALLOWED_PACKAGES.has(value) || ALLOWED_SRC_IMPORTS.test(value)) return;
    problems.push(`${where}: import of "${value}"`);
  };
  const visit = (node: unknown, parent?: Node, key?: string) => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child, parent, key);
      return;
    }
    const n = node as Node;
    const line = (n.loc as { start: { line: number } } | undefined)?.start.line;
    switch (n.type) {
      case "ImportDeclaration":
      case "ExportAllDeclaration":
      case "ExportNamedDeclaration":
        if (n.source) checkSource((n.source as { value: unknown }).value, `line ${line}`);
        break;
      case "ImportExpression":
        problems.push(`line ${line}: dynamic import()`);
        break;
      case "Identifier": {
        const isPropertyName =
          (parent?.type === "MemberExpression" && key === "property" && !parent.computed) ||
          ((parent?.type === "Property" ||
            parent?.type === "MethodDefinition" ||
            parent?.type === "PropertyDefinition") &&
            key === "key" &&
            !parent.computed);
        if (!isPropertyName && FORBIDDEN_GLOBALS.has(n.name as string))
          problems.push(`line ${line}: use of ${n.name as string}`);
        break;
      }
    }
    for (const [childKey, child] of Object.entries(n))
      if (childKey !== "loc") visit(child, n, childKey);
  };
  visit(ast);
  return problems;
}

function functionFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? functionFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("functions/ reach the network only through ctx.fetch", () => {
  const files = functionFiles(FUNCTIONS_DIR);

  test("there are function sources to check", () => {
    expect(files.map((f) => relative(FUNCTIONS_DIR, f))).toContain("generate-prompt.ts");
  });

  for (const file of files) {
    test(relative(FUNCTIONS_DIR, file), () => {
      expect(findNetworkPaths(readFileSync(file, "utf8"))).toEqual([]);
    });
  }

  test("the src and sdk helpers functions may import have no network path themselves", () => {
    expect(
      findNetworkPaths(readFileSync(join(FUNCTIONS_DIR, "../sdk/crypto/encoding.ts"), "utf8")),
    ).toEqual([]);
  });

  test("the checker catches every other network path", () => {
    const bad: Record<string, string> = {
      "raw socket": 'import net from "node:net"; net.connect(80, "x");',
      "http module": 'import { request } from "http";',
      "https default": 'import * as https from "node:https";',
      "re-export": 'export { connect } from "node:tls";',
      "ws client": 'import WebSocket from "ws";',
      undici: 'import { fetch as f } from "undici";',
      "Bun.connect": "await Bun.connect({ hostname: 'x', port: 1 });",
      "global fetch": "await fetch('https://evil.example');",
      "globalThis.fetch": "await globalThis.fetch('https://evil.example');",
      WebSocket: "new WebSocket('wss://evil.example');",
      "dynamic import": "await import('node:net');",
      require: "const net = require('net');",
      "src internals": 'import { x } from "../src/egress/audited-fetch.ts";',
      "the SDK's client": 'import { createClient } from "../sdk/client/index.ts";',
      eval: "eval('fetch(1)');",
    };
    for (const [name, source] of Object.entries(bad)) {
      expect({ name, problems: findNetworkPaths(source).length > 0 }).toEqual({
        name,
        problems: true,
      });
    }
    expect(
      findNetworkPaths(
        "export default { handler: async (i: unknown, ctx: { fetch: typeof fetch }) => ctx.fetch('https://ok') };",
      ),
    ).toEqual([]);
  });
});
