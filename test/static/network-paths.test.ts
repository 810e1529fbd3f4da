// Static side of "every channel is declared": every file in src/, sdk/ and functions/ is parsed
// with meriyah and each way it could reach the network (node builtins that open sockets or
// processes, Bun's network members, the global fetch, WebSocket, Worker, native code, dynamic
// import or require, packages) is listed. A file may use only what the allow-list below grants
// it, with the reason; an entry no file needs any more fails too, so the list stays exact. The
// runtime guard (src/egress/channel-guard.ts) refuses the rest in a running server; this test
// also covers what it cannot replace (Bun.fetch, named imports bound before start-up).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseModule } from "meriyah";

const ROOT = join(import.meta.dir, "../..");

/** Node builtins that open sockets, listeners, processes or load code. */
const NETWORK_BUILTINS = new Set([
  "net",
  "tls",
  "http",
  "https",
  "http2",
  "dgram",
  "dns",
  "child_process",
  "cluster",
  "worker_threads",
  "inspector",
  "module",
  "vm",
  "repl",
]);
/** Node builtins with no network path. */
const SAFE_BUILTINS = new Set([
  "fs",
  "path",
  "os",
  "crypto",
  "async_hooks",
  "url",
  "util",
  "stream",
  "buffer",
  "events",
  "zlib",
  "assert",
  "string_decoder",
  "timers",
  "perf_hooks",
]);
/** Members of the `bun` module (and of `Bun`) that reach the network, a process or native code. */
const BUN_NETWORK = new Set([
  "fetch",
  "connect",
  "listen",
  "serve",
  "udpSocket",
  "spawn",
  "spawnSync",
  "$",
  "SQL",
  "sql",
  "postgres",
  "RedisClient",
  "redis",
  "S3Client",
  "s3",
  "dns",
  "FetchSession",
  "WebView",
  "openInEditor",
  "FFI",
  "plugin",
  "build",
]);
/** Globals that reach the network or run code in a fresh, unguarded context. */
const NETWORK_GLOBALS = new Set([
  "fetch",
  "WebSocket",
  "Worker",
  "EventSource",
  "XMLHttpRequest",
  "require",
  "eval",
  "Function",
  "importScripts",
]);
/** Packages with no network path of their own (checked by reading them once, when added). */
const PURE_PACKAGES =
  /^(zod(\/mini|\/v4\/locales\/en\.js)?|meriyah|hono(\/(cors|route|utils\/.*|router\/trie-router))?|@noble\/(curves|hashes)\/.*|quickjs-emscripten-core|@jitl\/quickjs-singlefile-mjs-release-sync)$/;

/**
 * Who may open which channel, and why. Keys are repository paths; values the findings allowed.
 * The runtime guard permits the same channels (src/egress/channels.ts).
 */
const ALLOWED: Record<string, Record<string, string>> = {
  "src/egress/audited-fetch.ts": {
    "global fetch": "wraps the process's original fetch: this is function egress",
  },
  "src/egress/channel-guard.ts": {
    "node:module": "createRequire, to patch the builtins' shared objects (net.Socket, dns)",
    require: "loads the builtins it patches",
    "Bun.dns": "guards Bun.dns's lookups",
    "Bun.FFI": "guards native code loading",
  },
  "src/server.ts": {
    "Bun.serve": "the one HTTP listener (channel http-listener)",
    "package hono/bun": "hono's WebSocket handler for that listener",
  },
  "src/http/app.ts": {
    "package hono/bun": "upgrades /runtime/attach and /peer/attach on the listener (inbound)",
  },
  "src/tee/dstack.ts": {
    "package @phala/dstack-sdk": "the guest agent socket (channel dstack-guest-agent)",
  },
  "src/store/postgres-backend.ts": { "bun SQL": "the shared state store (channel state-store)" },
  "src/store/redis-connection.ts": {
    "bun RedisClient": "the shared state store (channel state-store)",
  },
  "src/runtime/pool.ts": { Worker: "the AgentScript worker threads, from our own worker.ts" },
  "src/self-digest.ts": {
    Worker: "hashes the executable off the main thread, from our own self-digest-worker.ts",
  },
  "src/sessions/peer-dialer.ts": {
    WebSocket:
      "the peer channel to another instance of this app (channel peer-instances), each destination admitted from a sealed directory record",
  },
  "src/runtime/remote/runtime-main.ts": {
    WebSocket: "`auditor runtime` dials its middleware (--connect); not the server process",
  },
  "src/verify/cli.ts": {
    "package @phala/dstack-sdk": "`auditor verify`: getComposeHash (no network)",
    "dynamic import":
      "`auditor verify` loads @phala/dcap-qvl (Intel collateral from a PCCS) when needed",
  },
  "src/verify/source-chain.ts": {
    "package @phala/dstack-sdk": "`auditor verify --source`: getComposeHash (no network)",
    "Bun.spawnSync":
      "`auditor verify --source` rebuilds the binary and the image in the user's checkout (git, npm ci, bun); not the server process",
  },
  "src/verify/provenance.ts": {
    "global fetch":
      "`auditor verify` fetches the target's /source, /egress-log and (--invoke) one call",
  },
  "src/verify/checks.ts": {
    "global fetch": "`auditor verify` fetches the target's /attestation and /report",
  },
  "src/source/tree-macro.ts": {
    "Bun.spawnSync": "build time only: the source-tree macro asks git for the commit",
  },
  "src/web/browser-build.ts": {
    "Bun.spawnSync": "build time only: a bundle macro runs `bun build`",
  },
  "src/web/app/main.ts": { "dynamic import": "browser code: loads the served SDK in the page" },
  "src/web/report-page/main.ts": {
    "dynamic import": "browser code: loads the served SDK in the report page",
  },
  "src/web/dashboard/main.ts": {
    "dynamic import": "browser code: loads the served SDK in the dashboard",
    "global fetch": "browser code: the dashboard reads /dashboard/data from its own server",
  },
  "src/metrics/registry.ts": {
    "package prom-client":
      "the registry and its text format; its Pushgateway (the one part that dials out) is never used, and the channel guard would refuse it",
  },
  "sdk/client/client.ts": {
    "global fetch": "client code: the SDK's default fetch, in the caller's process or browser",
  },
};

type Node = { type: string; [key: string]: unknown };

function stripTypes(source: string): string {
  const withoutMacros = source.replace(/\s+with\s*\{\s*type:\s*"macro"\s*\}/g, "");
  return new Bun.Transpiler({ loader: "ts", trimUnusedImports: false }).transformSync(
    withoutMacros,
  );
}

/** Every way `source` could reach the network, as finding names. */
export function networkFindings(source: string): Set<string> {
  const found = new Set<string>();
  const ast = parseModule(stripTypes(source), { next: true }) as unknown as Node;
  const specifier = (value: unknown, names: string[]) => {
    if (typeof value !== "string") return found.add("computed module specifier");
    if (value.startsWith(".")) return;
    if (value === "bun") {
      for (const n of names) if (BUN_NETWORK.has(n)) found.add(`bun ${n}`);
      return;
    }
    if (value.startsWith("bun:")) return value === "bun:sqlite" ? undefined : found.add(value);
    const builtin = /^(?:node:)?([a-z_]+)(?:\/[a-z_]+)?$/.exec(value)?.[1];
    if (builtin && NETWORK_BUILTINS.has(builtin)) return found.add(`node:${builtin}`);
    if (builtin && SAFE_BUILTINS.has(builtin)) return;
    if (!PURE_PACKAGES.test(value)) found.add(`package ${value}`);
  };
  const visit = (node: unknown, parent?: Node, key?: string) => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child, parent, key);
      return;
    }
    const n = node as Node;
    switch (n.type) {
      case "ImportDeclaration": {
        const names = ((n.specifiers as Node[]) ?? []).map(
          (s) => ((s.imported as Node | undefined)?.name as string) ?? "*",
        );
        specifier(
          (n.source as { value: unknown }).value,
          names.includes("*") ? [...BUN_NETWORK] : names,
        );
        break;
      }
      case "ExportAllDeclaration":
      case "ExportNamedDeclaration":
        if (n.source) specifier((n.source as { value: unknown }).value, [...BUN_NETWORK]);
        break;
      case "ImportExpression":
        found.add("dynamic import");
        break;
      case "MemberExpression": {
        const object = n.object as Node;
        const property = n.property as Node;
        if (object.type === "Identifier" && object.name === "Bun") {
          const name = n.computed ? "(computed)" : (property.name as string);
          if (n.computed || BUN_NETWORK.has(name)) found.add(`Bun.${name}`);
        }
        if (
          object.type === "Identifier" &&
          (object.name === "globalThis" || object.name === "self" || object.name === "window") &&
          !n.computed &&
          NETWORK_GLOBALS.has(property.name as string)
        ) {
          found.add(property.name === "fetch" ? "global fetch" : (property.name as string));
        }
        if (
          object.type === "Identifier" &&
          object.name === "process" &&
          !n.computed &&
          /^(dlopen|binding|_linkedBinding)$/.test(property.name as string)
        )
          found.add(`process.${property.name as string}`);
        break;
      }
      case "Identifier": {
        const isPropertyName =
          (parent?.type === "MemberExpression" && key === "property" && !parent.computed) ||
          ((parent?.type === "Property" ||
            parent?.type === "MethodDefinition" ||
            parent?.type === "PropertyDefinition") &&
            key === "key" &&
            !parent.computed) ||
          parent?.type === "ImportSpecifier" ||
          parent?.type === "ExportSpecifier";
        const name = n.name as string;
        if (!isPropertyName && NETWORK_GLOBALS.has(name))
          found.add(name === "fetch" ? "global fetch" : name);
        break;
      }
    }
    for (const [childKey, child] of Object.entries(n)) visit(child, n, childKey);
  };
  visit(ast);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("network paths in src/, sdk/ and functions/ are exactly the declared channels", () => {
  const files = ["src", "sdk", "functions"].flatMap((dir) => sourceFiles(join(ROOT, dir)));
  const findings = new Map(
    files.map((file) => [relative(ROOT, file), networkFindings(readFileSync(file, "utf8"))]),
  );

  test("every file uses only what the allow-list grants it", () => {
    const unexpected = [...findings].flatMap(([file, found]) =>
      [...found].filter((f) => !(f in (ALLOWED[file] ?? {}))).map((f) => `${file}: ${f}`),
    );
    expect(unexpected).toEqual([]);
  });

  test("every allow-list entry is still needed (the list is exact)", () => {
    const stale = Object.entries(ALLOWED).flatMap(([file, grants]) =>
      Object.keys(grants)
        .filter((g) => !findings.get(file)?.has(g))
        .map((g) => `${file}: ${g}`),
    );
    expect(stale).toEqual([]);
  });

  test("the checker finds each kind of network path", () => {
    const cases: Record<string, [string, string]> = {
      "node:net named import": ['import { connect } from "node:net";', "node:net"],
      "node:http default import": ['import http from "http";', "node:http"],
      child_process: ['import { execFileSync } from "node:child_process";', "node:child_process"],
      "bun fetch import": ['import { fetch } from "bun";', "bun fetch"],
      "bun SQL import": ['import { SQL } from "bun";', "bun SQL"],
      "Bun.fetch": ["await Bun.fetch('https://x');", "Bun.fetch"],
      "Bun.connect": ["await Bun.connect({ hostname: 'x', port: 1 });", "Bun.connect"],
      "Bun[computed]": ["const f = Bun['fe' + 'tch'];", "Bun.(computed)"],
      "global fetch": ["await fetch('https://x');", "global fetch"],
      "globalThis.fetch": ["await globalThis.fetch('https://x');", "global fetch"],
      WebSocket: ["new WebSocket('wss://x');", "WebSocket"],
      Worker: ["new Worker('./w.ts');", "Worker"],
      "dynamic import": ["await import('node:net');", "dynamic import"],
      require: ["const net = require('net');", "require"],
      ffi: ['import { dlopen } from "bun:ffi";', "bun:ffi"],
      "process.dlopen": ["process.dlopen(m, 'x.so');", "process.dlopen"],
      "unknown package": ['import axios from "axios";', "package axios"],
      "re-export": ['export { connect } from "node:tls";', "node:tls"],
    };
    for (const [name, [source, finding]] of Object.entries(cases))
      expect({ name, found: networkFindings(source).has(finding) }).toEqual({ name, found: true });
    expect([
      ...networkFindings(
        'import { z } from "zod"; import { readFileSync } from "node:fs"; const o = { fetch: 1 }; o.fetch;',
      ),
    ]).toEqual([]);
  });
});
