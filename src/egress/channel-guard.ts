// Every network channel of the server process other than function egress, guarded at start-up.
// The audited fetch covers `fetch`; this covers the rest: outbound sockets however they are
// made (node:net, tls, http, https, http2 all connect through net.Socket), Bun's sockets,
// listeners and processes (node:child_process and node:http servers use them too), WebSocket,
// the SQL, Redis and S3 clients, DNS lookups, code-loading workers and native libraries. Each
// refuses unless it opens one of the declared channels (the guest agent socket, the shared
// state store, the one HTTP listener, WebSockets to peer instances admitted while running) to
// exactly its destination, and never inside a function invocation: functions reach the
// network only through ctx.fetch. A refusal throws
// EgressBlockedError and is recorded in the egress log (allowed: false) like a refused fetch.
//
// Limits, stated where they hold: Bun.fetch (and `import { fetch } from "bun"`) is a
// non-writable, non-configurable property in this Bun, so it cannot be guarded here; a named
// ESM import of a node builtin binds its function before start-up, so only the paths that all
// implementations share (net.Socket.prototype.connect, Bun.spawn, Bun.listen, …) are patched,
// never the named exports. The static test (test/static/network-paths.test.ts) refuses both
// in src/ and functions/. Worker threads start with fresh globals, unguarded: only file
// workers (our own code) may start.
import { createRequire } from "node:module";
import type { Logger } from "../log.ts";
import { EgressBlockedError } from "./audited-fetch.ts";
import { currentCaller } from "./context.ts";
import type { EgressLog } from "./log.ts";

/** A channel the process may open besides function egress, to exactly this destination. */
export interface ChannelAllowance {
  /** The channel's name in the report (docs/protocol.md "Channels"). */
  channel: string;
  /** The primitive that opens it. */
  via: "socket" | "sql" | "redis" | "serve" | "websocket";
  /** `host:port`, or `unix:<path>`. */
  destination: string;
  /** The HTTP listener: one Bun.serve, then no other. */
  once?: boolean;
}

export interface ChannelGuardOptions {
  egressLog: EgressLog;
  log: Logger;
  allow: ChannelAllowance[];
}

// biome-ignore lint/suspicious/noExplicitAny: wraps any function, whatever its signature
type Fn = (...args: any[]) => any;
type Via = ChannelAllowance["via"] | "none";

// Builtins through require: an ESM import of them would bind the unpatched functions.
const require = createRequire(import.meta.url);
let installed = false;

/** `host:port` in one spelling (IPv6 without brackets, host in lower case). */
export function socketDestination(host: string, port: number | string): string {
  return `${host.replace(/^\[|\]$/g, "").toLowerCase()}:${port}`;
}

export interface InstalledGuards {
  /** What could not be guarded (for the report and the probe test). */
  unguarded: string[];
  /**
   * Declares one more destination of a declared channel, known only while running: the peer
   * channel learns each peer's address from a sealed session-directory record, which only an
   * instance of this app could have written. Whoever holds this function holds that power.
   */
  admit(allowance: ChannelAllowance): void;
}

/** Installs the guards; returns what could not be guarded and the means to admit a destination. */
export function installChannelGuards(options: ChannelGuardOptions): InstalledGuards {
  if (installed) throw new Error("channel guards are already installed");
  installed = true;
  const allowances = options.allow.map((a) => ({ ...a, used: false }));
  const hostnames = new Set(
    allowances
      .filter((a) => !a.destination.startsWith("unix:"))
      .map((a) => a.destination.replace(/:\d+$/, "")),
  );

  /** Allows the call (returns) or records the refusal and throws. */
  const check = (via: Via, api: string, scheme: string, destination: string): void => {
    const caller = currentCaller();
    const allowance = caller
      ? undefined
      : allowances.find((a) => a.via === via && a.destination === destination && !a.used);
    if (allowance) {
      if (allowance.once) allowance.used = true;
      return;
    }
    options.egressLog.record({
      time: new Date().toISOString(),
      app: caller?.app ?? "-",
      fn: caller?.fn ?? "-",
      method: api,
      scheme,
      host: destination,
      path: "",
      queryKeys: [],
      status: null,
      requestBytes: 0,
      responseBytes: 0,
      requestSha256: null,
      responseSha256: null,
      durationMs: 0,
      allowed: false,
      error: "blocked: not an allowed channel",
    });
    const where = caller
      ? `inside ${caller.app}/${caller.fn} (functions reach the network only through ctx.fetch)`
      : "outside the declared channels";
    options.log.warn("refused a network channel", {
      api,
      scheme,
      destination,
      app: caller?.app,
      fn: caller?.fn,
    });
    throw new EgressBlockedError(`egress refused: ${api} to ${destination}, ${where}`);
  };
  const refuse = (api: string, scheme: string, destination: string) =>
    check("none", api, scheme, destination);

  /** What this Bun does not let us replace (read-only and non-configurable). */
  const unguarded: string[] = [];
  /** Replaces obj[key] and makes it read-only, so nothing can put the original back. */
  const replace = (obj: object, key: string, make: (original: Fn) => unknown, label = key) => {
    const original = (obj as Record<string, unknown>)[key];
    if (original === undefined) return;
    const descriptor = Object.getOwnPropertyDescriptor(obj, key);
    if (descriptor && !descriptor.writable && !descriptor.configurable)
      return void unguarded.push(label);
    Object.defineProperty(obj, key, { value: make(original as Fn), writable: false });
  };
  /** A callable and constructible stand-in that checks first. */
  const guarded = (original: Fn, first: (args: unknown[]) => void) =>
    new Proxy(original, {
      apply: (target, self, args) => (first(args), Reflect.apply(target, self, args)),
      construct: (target, args, newTarget) => (
        first(args), Reflect.construct(target, args, newTarget)
      ),
    });
  /** A default client (Bun.sql is a tagged template, Bun.redis an object) that refuses any use. */
  const refusingObject = (api: string, scheme: string) => {
    const no = () => refuse(api, scheme, "the default (environment) destination");
    return new Proxy(function refused() {}, { get: no, apply: no, construct: () => (no(), {}) });
  };

  // Outbound sockets: net.connect, tls.connect and the node http/https/http2 clients all end in
  // net.Socket.prototype.connect, with normalized arguments ([options, callback]) or raw ones.
  const net = require("node:net");
  const tls = require("node:tls");
  replace(
    net.Socket.prototype,
    "connect",
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        const first = Array.isArray(args[0]) ? args[0][0] : args[0];
        const opts = (typeof first === "object" && first !== null ? first : {}) as Record<
          string,
          unknown
        >;
        const path = typeof first === "string" && !/^\d+$/.test(first) ? first : opts.path;
        const scheme = path ? "unix" : this instanceof tls.TLSSocket ? "tls" : "tcp";
        const destination = path
          ? `unix:${String(path)}`
          : socketDestination(
              String(
                opts.host ?? opts.hostname ?? (typeof args[1] === "string" ? args[1] : "localhost"),
              ),
              String(opts.port ?? first),
            );
        check("socket", "net.Socket.connect", scheme, destination);
        return original.apply(this, args);
      },
  );

  // DNS: a lookup is itself a message (its name); only the declared destinations' names resolve.
  const dns = require("node:dns");
  const lookup = (api: string) => (original: Fn) =>
    function (this: unknown, hostname: unknown, ...rest: unknown[]) {
      const name = String(hostname).toLowerCase();
      if (currentCaller() || !hostnames.has(name)) refuse(api, "dns", name);
      return original.call(this, hostname, ...rest);
    };
  const dnsRefusal =
    (api: string) =>
    () =>
    (...args: unknown[]) =>
      refuse(api, "dns", String(args[0]));
  replace(dns, "lookup", lookup("dns.lookup"));
  replace(dns.promises, "lookup", lookup("dns.promises.lookup"));
  replace(Bun.dns, "lookup", lookup("Bun.dns.lookup"));
  for (const name of Object.keys(dns).filter((k) => /^(resolve|reverse|lookupService)/.test(k))) {
    replace(dns, name, dnsRefusal(`dns.${name}`));
    replace(dns.promises, name, dnsRefusal(`dns.promises.${name}`));
  }
  for (const name of Object.getOwnPropertyNames(dns.Resolver.prototype).filter((k) =>
    /^(resolve|reverse)/.test(k),
  )) {
    replace(dns.Resolver.prototype, name, dnsRefusal(`dns.Resolver.${name}`));
  }
  for (const name of Object.keys(Bun.dns).filter((k) =>
    /^(resolve|reverse|lookupService|prefetch)/.test(k),
  )) {
    replace(Bun.dns, name, dnsRefusal(`Bun.dns.${name}`));
  }

  // Bun's own sockets, listeners (node:net and node:http servers listen through them) and
  // processes (node:child_process spawns through them).
  const bunDestination = (o: unknown) => {
    const opts = (o ?? {}) as Record<string, unknown>;
    return opts.unix
      ? `unix:${String(opts.unix)}`
      : socketDestination(String(opts.hostname ?? "0.0.0.0"), String(opts.port ?? 0));
  };
  replace(Bun, "connect", (original) =>
    guarded(original, ([o]) => refuse("Bun.connect", "tcp", bunDestination(o))),
  );
  replace(Bun, "listen", (original) =>
    guarded(original, ([o]) => refuse("Bun.listen", "tcp", bunDestination(o))),
  );
  replace(Bun, "udpSocket", (original) =>
    guarded(original, ([o]) => refuse("Bun.udpSocket", "udp", bunDestination(o))),
  );
  replace(Bun, "serve", (original) =>
    guarded(original, ([o]) => {
      const opts = (o ?? {}) as Record<string, unknown>;
      const destination = opts.unix
        ? `unix:${String(opts.unix)}`
        : socketDestination(String(opts.hostname ?? "0.0.0.0"), String(opts.port ?? 3000));
      check("serve", "Bun.serve", "http", destination);
    }),
  );
  const command = (o: unknown) => {
    const cmd = Array.isArray(o) ? o[0] : (o as { cmd?: unknown[] } | undefined)?.cmd?.[0];
    // The program's name only: arguments may carry anything.
    return String(cmd ?? "?")
      .split("/")
      .pop()!;
  };
  replace(Bun, "spawn", (original) =>
    guarded(original, ([o]) => refuse("Bun.spawn", "process", command(o))),
  );
  replace(Bun, "spawnSync", (original) =>
    guarded(original, ([o]) => refuse("Bun.spawnSync", "process", command(o))),
  );
  replace(Bun, "$", () => () => refuse("Bun.$", "process", "shell"));
  replace(Bun, "openInEditor", () => () => refuse("Bun.openInEditor", "process", "editor"));

  // Clients of other protocols: allowed only as the declared state store.
  const urlDestination = (value: unknown, defaultPort: number) => {
    if (typeof value === "string" || value instanceof URL) {
      const url = new URL(String(value));
      return socketDestination(url.hostname, url.port || defaultPort);
    }
    const opts = (value ?? {}) as Record<string, unknown>;
    if (typeof opts.url === "string") return urlDestination(opts.url, defaultPort);
    if (opts.hostname || opts.host)
      return socketDestination(
        String(opts.hostname ?? opts.host),
        String(opts.port ?? defaultPort),
      );
    return "the default (environment) destination";
  };
  replace(Bun, "SQL", (original) =>
    guarded(original, ([o]) => check("sql", "Bun.SQL", "postgres", urlDestination(o, 5432))),
  );
  replace(Bun, "sql", () => refusingObject("Bun.sql", "postgres"));
  replace(Bun, "postgres", () => refusingObject("Bun.postgres", "postgres"));
  replace(Bun, "RedisClient", (original) =>
    guarded(original, ([o]) =>
      check(
        "redis",
        "Bun.RedisClient",
        "redis",
        urlDestination(o ?? "redis://localhost:6379", 6379),
      ),
    ),
  );
  replace(Bun, "redis", () => refusingObject("Bun.redis", "redis"));
  replace(Bun, "S3Client", (original) =>
    guarded(original, () => refuse("Bun.S3Client", "s3", "s3")),
  );
  replace(Bun, "s3", () => refusingObject("Bun.s3", "s3"));
  const s3Path = (value: unknown) =>
    (typeof value === "string" || value instanceof URL) && /^s3:/i.test(String(value));
  replace(Bun, "file", (original) =>
    guarded(original, ([path]) => s3Path(path) && refuse("Bun.file", "s3", String(path))),
  );
  replace(Bun, "write", (original) =>
    guarded(original, ([dest]) => s3Path(dest) && refuse("Bun.write", "s3", String(dest))),
  );
  for (const name of ["FetchSession", "WebView"]) {
    replace(
      Bun,
      name,
      (original) => guarded(original, () => refuse(`Bun.${name}`, "http", name)),
      `Bun.${name}`,
    );
  }

  // WebSocket clients: only the peer channel, to a peer it admitted (the server accepts others'
  // through its listener).
  replace(globalThis, "WebSocket", (original) =>
    guarded(original, ([url]) => {
      const target = new URL(String(url));
      check(
        "websocket",
        "WebSocket",
        target.protocol.replace(/:$/, ""),
        socketDestination(target.hostname, target.port || (target.protocol === "wss:" ? 443 : 80)),
      );
    }),
  );

  // Workers start with fresh, unguarded globals: only our own module files may run in one.
  replace(globalThis, "Worker", (original) =>
    guarded(original, ([specifier, workerOptions]) => {
      const text = String(specifier);
      if (
        (workerOptions as { eval?: unknown } | undefined)?.eval ||
        /^(blob|data|https?):/i.test(text)
      ) {
        refuse("Worker", "worker", text.slice(0, 40));
      }
    }),
  );

  // Native code can open anything.
  replace(process, "dlopen", () => () => refuse("process.dlopen", "ffi", "native library"));
  for (const ffi of [(Bun as unknown as { FFI?: object }).FFI, require("bun:ffi")].filter(
    Boolean,
  )) {
    for (const name of ["dlopen", "linkSymbols", "cfunction", "CFunction", "callback"]) {
      replace(ffi, name, () => () => refuse(`bun:ffi.${name}`, "ffi", "native library"));
    }
  }
  // Bun.fetch is read-only and non-configurable: it is listed, not replaced.
  if (!Object.getOwnPropertyDescriptor(Bun, "fetch")?.writable) unguarded.push("Bun.fetch");
  const admit = (allowance: ChannelAllowance) => {
    const known = allowances.some(
      (a) => a.via === allowance.via && a.destination === allowance.destination,
    );
    if (known) return;
    allowances.push({ ...allowance, used: false });
    if (!allowance.destination.startsWith("unix:"))
      hostnames.add(allowance.destination.replace(/:\d+$/, ""));
  };
  return { unguarded, admit };
}
