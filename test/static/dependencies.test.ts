// DESIGN's dependency rule, checked over every import in sdk/, src/ and functions/: sdk/
// imports nothing from src/ or functions/ (and, being browser-safe, no node: or bun: module);
// server code in src/ never imports sdk/client (it shares the sdk/ leaves instead); domain code
// never imports src/http; the wiring (main.ts, services.ts) and src/http reach the other src/
// folders only through their index.ts. Imports are read by TypeScript's own pre-processor, so `import type`,
// `export … from` and `import()` with a literal specifier all count.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import ts from "typescript";

const ROOT = join(import.meta.dir, "../..");
const CHECKED = ["sdk", "src", "functions"];

/** The SDK's own consumers inside src/: they are clients of it, not server code. */
const SDK_CLIENTS = [
  // The browser pages type against the SDK and load the served bundle at run time.
  "src/web/",
  // `auditor verify` checks a remote Auditor as any client would.
  "src/verify/",
];

/** Domain code: it returns results, and only routes in src/http turn them into HTTP. */
const DOMAIN = [
  "src/functions/",
  "src/sessions/",
  "src/runtime/",
  "src/store/",
  "src/sidecar/",
  "src/egress/",
  "src/tee/",
  "src/report/",
  "src/metrics/",
  "src/source/",
  "src/crypto/",
  "functions/",
];

/** The wiring and the HTTP surface reach these folders only through their index.ts. */
const INDEXED = [
  "src/crypto/",
  "src/egress/",
  "src/functions/",
  "src/http/",
  "src/metrics/",
  "src/report/",
  "src/runtime/",
  "src/sessions/",
  "src/sidecar/",
  "src/source/",
  "src/store/",
  "src/tee/",
  "src/verify/",
];
const WIRING = ["src/main.ts", "src/services.ts", "src/http/"];

/** Known violations, each with the change that removes it. Nothing else may be added here. */
const KNOWN: Record<string, string> = {};

export interface SourceFile {
  /** Repository-relative path, with forward slashes. */
  path: string;
  text: string;
}

/** Every module specifier a file names (static, type-only, re-exports, literal import()). */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

/** One line per import that breaks the rule: "<file> -> <target>: <rule>". */
export function violations(files: readonly SourceFile[]): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    for (const specifier of importsOf(text)) {
      const relativeImport = specifier.startsWith("./") || specifier.startsWith("../");
      const target = relativeImport
        ? normalize(join(dirname(path), specifier)).replaceAll("\\", "/")
        : specifier;
      const rule = ruleBroken(path, target, relativeImport);
      if (rule) found.push(`${path} -> ${target}: ${rule}`);
    }
  }
  return found;
}

function ruleBroken(from: string, target: string, relativeImport: boolean): string | undefined {
  const under = (prefixes: readonly string[], path: string) =>
    prefixes.some((prefix) => path.startsWith(prefix));
  if (from.startsWith("sdk/")) {
    if (!relativeImport)
      return /^(node|bun):|^bun$/.test(target) ? "sdk/ imports a server runtime module" : undefined;
    if (target.startsWith("src/")) return "sdk/ imports src/";
    if (target.startsWith("functions/")) return "sdk/ imports functions/";
    if (!target.startsWith("sdk/")) return "sdk/ imports outside sdk/";
    return undefined;
  }
  if (!relativeImport) return undefined;
  if (from.startsWith("src/") && target.startsWith("sdk/client/") && !under(SDK_CLIENTS, from))
    return "src/ imports sdk/client";
  if (under(DOMAIN, from) && target.startsWith("src/http/")) return "domain code imports src/http";
  const folder = INDEXED.find((prefix) => target.startsWith(prefix));
  if (folder && under(WIRING, from) && !from.startsWith(folder) && target !== `${folder}index.ts`) {
    return `reaches past ${folder}index.ts`;
  }
  return undefined;
}

function tree(dir: string): SourceFile[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return tree(path);
    return /\.(ts|tsx|js|mjs)$/.test(entry.name)
      ? [{ path, text: readFileSync(join(ROOT, path), "utf8") }]
      : [];
  });
}

describe("dependencies point one way", () => {
  const files = CHECKED.flatMap(tree);

  test("every file of sdk/, src/ and functions/ is read", () => {
    const paths = files.map((f) => f.path);
    expect(paths).toContain("sdk/client/client.ts");
    expect(paths).toContain("src/main.ts");
    expect(paths).toContain("functions/generate-prompt.ts");
    expect(files.reduce((n, f) => n + importsOf(f.text).length, 0)).toBeGreaterThan(300);
  });

  test("no import breaks the rule, except the known ones named above", () => {
    const known = (line: string) =>
      KNOWN[line.slice(0, line.indexOf(":"))] === line.slice(line.indexOf(":") + 2);
    expect(violations(files).filter((line) => !known(line))).toEqual([]);
  });

  test("each known exception still exists (remove it here once it is gone)", () => {
    const found = new Set(violations(files));
    for (const [edge, rule] of Object.entries(KNOWN))
      expect(found.has(`${edge}: ${rule}`)).toBe(true);
  });

  test("the checker reports each kind of violation it is for", () => {
    const planted: SourceFile[] = [
      {
        path: "sdk/wire/planted.ts",
        text: 'import { canonicalJson } from "../../src/crypto/x.ts";',
      },
      { path: "sdk/client/planted.ts", text: 'import type { Config } from "../../src/config.ts";' },
      {
        path: "sdk/client/planted2.ts",
        text: 'export { FUNCTIONS } from "../../functions/index.ts";',
      },
      { path: "sdk/crypto/planted.ts", text: 'import { createCipheriv } from "node:crypto";' },
      { path: "sdk/crypto/planted2.ts", text: 'const { serve } = await import("bun");' },
      { path: "sdk/planted.ts", text: 'import "../scripts/build.ts";' },
      {
        path: "src/runtime/remote/planted.ts",
        text: 'import { isPinned } from "../../../sdk/client/trust.ts";',
      },
      {
        path: "src/sessions/planted.ts",
        text: 'const m = await import("../../sdk/client/index.ts");',
      },
      { path: "src/sessions/planted2.ts", text: 'import { apiError } from "../http/errors.ts";' },
      { path: "src/store/planted.ts", text: 'import type { AppDeps } from "../http/app.ts";' },
      { path: "functions/planted.ts", text: 'import { json } from "../src/http/json-body.ts";' },
      { path: "src/main.ts", text: 'import { createApp } from "./http/app.ts";' },
      {
        path: "src/http/routes/planted.ts",
        text: 'import type { Session } from "../../sessions/session.ts";',
      },
    ];
    expect(violations(planted)).toEqual([
      "sdk/wire/planted.ts -> src/crypto/x.ts: sdk/ imports src/",
      "sdk/client/planted.ts -> src/config.ts: sdk/ imports src/",
      "sdk/client/planted2.ts -> functions/index.ts: sdk/ imports functions/",
      "sdk/crypto/planted.ts -> node:crypto: sdk/ imports a server runtime module",
      "sdk/crypto/planted2.ts -> bun: sdk/ imports a server runtime module",
      "sdk/planted.ts -> scripts/build.ts: sdk/ imports outside sdk/",
      "src/runtime/remote/planted.ts -> sdk/client/trust.ts: src/ imports sdk/client",
      "src/sessions/planted.ts -> sdk/client/index.ts: src/ imports sdk/client",
      "src/sessions/planted2.ts -> src/http/errors.ts: domain code imports src/http",
      "src/store/planted.ts -> src/http/app.ts: domain code imports src/http",
      "functions/planted.ts -> src/http/json-body.ts: domain code imports src/http",
      "src/main.ts -> src/http/app.ts: reaches past src/http/index.ts",
      "src/http/routes/planted.ts -> src/sessions/session.ts: reaches past src/sessions/index.ts",
    ]);
  });

  test("the sandbox worker loads only what it runs: not the pool, the runtime index or remote/", () => {
    // Value imports only (Bun's scanner drops `import type`): what each worker evaluates.
    const scanner = new Bun.Transpiler({ loader: "ts" });
    const loaded = new Set<string>();
    const pending = ["src/runtime/worker.ts"];
    while (pending.length > 0) {
      const path = pending.pop()!;
      if (loaded.has(path) || !path.endsWith(".ts")) continue;
      loaded.add(path);
      for (const { path: specifier } of scanner.scanImports(
        readFileSync(join(ROOT, path), "utf8"),
      )) {
        if (specifier.startsWith("."))
          pending.push(normalize(join(dirname(path), specifier)).replaceAll("\\", "/"));
      }
    }
    expect(loaded.has("src/runtime/sandbox.ts")).toBe(true);
    const forbidden = [...loaded].filter((path) =>
      /^src\/runtime\/(pool|index)\.ts$|^src\/runtime\/remote\//.test(path),
    );
    expect(forbidden).toEqual([]);
  });

  test("what the rule allows passes: leaves from src/, SDK clients, routes using src/http", () => {
    const allowed: SourceFile[] = [
      {
        path: "src/sessions/ok.ts",
        text: 'import { PROTOCOL_VERSION } from "../../sdk/wire/sessions.ts";',
      },
      {
        path: "src/runtime/remote/ok.ts",
        text: 'import { isPinned } from "../../../sdk/crypto/pin.ts";',
      },
      {
        path: "src/web/app/ok.ts",
        text: 'import type { AuditorClient } from "../../../sdk/client/index.ts";',
      },
      { path: "src/http/routes/ok.ts", text: 'import { apiError } from "../errors.ts";' },
      { path: "src/main.ts", text: 'import { createApp } from "./http/index.ts";' },
      {
        path: "src/http/routes/ok2.ts",
        text: 'import type { Session } from "../../sessions/index.ts";',
      },
      {
        path: "sdk/client/ok.ts",
        text: 'import { z } from "zod/mini"; import { keyId } from "../crypto/keys.ts";',
      },
    ];
    expect(violations(allowed)).toEqual([]);
  });
});
