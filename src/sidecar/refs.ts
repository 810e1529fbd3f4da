// The reference sidecar (DESIGN "Reference sidecar and auto-ref"): a per-session store of tool
// results the sandbox must not (or need not) hold. On the wire and in the sandbox a stored value
// is only its token `{ "$ref": { "id": "ref_…" } }`; the broker swaps tokens back for values
// when they reach another tool, and drops everything when the session is disposed.
import { toBase64Url } from "../../sdk/crypto/encoding.ts";
import { pathMatches } from "./redact.ts";

export interface RefToken {
  $ref: { id: string };
}

export interface RefLimits {
  /** Largest single value (bytes of its JSON). */
  maxRefBytes: number;
  /** All values of one session together. */
  maxTotalBytes: number;
  maxRefs: number;
}

export const DEFAULT_REF_LIMITS: RefLimits = {
  maxRefBytes: 32 * 1024 * 1024,
  maxTotalBytes: 128 * 1024 * 1024,
  maxRefs: 10_000,
};

export type RefErrorCode = "ref_limit" | "unknown_ref" | "not_readable" | "memory_budget";

/** The server-wide budget a sidecar's bytes count against (src/runtime/memory-budget.ts). */
export interface SidecarBudget {
  /** Throws when the bytes do not fit. */
  chargeSidecar(bytes: number): void;
  releaseSidecar(bytes: number): void;
}

export class RefError extends Error {
  override name = "RefError";
  constructor(
    readonly code: RefErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Exactly `{ "$ref": { "id": <string> } }`, nothing more: anything else is plain data. */
export function isRefToken(value: unknown): value is RefToken {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== "$ref") return false;
  const inner = (value as { $ref: unknown }).$ref;
  if (!inner || typeof inner !== "object" || Array.isArray(inner)) return false;
  const innerKeys = Object.keys(inner);
  return (
    innerKeys.length === 1 &&
    innerKeys[0] === "id" &&
    typeof (inner as { id: unknown }).id === "string"
  );
}

/**
 * Applies `fn` to every ref token in a JSON value, with its path (tokens are not descended into),
 * and returns a copy with each token replaced by what `fn` returned. A stored value can be a
 * quarter of a million records, so the walk keeps one stack of keys and spells a path out only
 * where it finds a token.
 */
export function mapRefs(
  value: unknown,
  fn: (token: RefToken, path: readonly string[]) => unknown,
  path: readonly string[] = [],
): unknown {
  const keys: (string | number)[] = [];
  const walk = (node: object): unknown => {
    // An own "$ref" is necessary for a token, and cheap to rule out before isRefToken's keys.
    if (Object.hasOwn(node, "$ref") && isRefToken(node))
      return fn(node, [...path, ...keys.map(String)]);
    if (Array.isArray(node)) {
      const out: unknown[] = [];
      for (let i = 0; i < node.length; i++) {
        if (!(i in node)) {
          out.length = i + 1; // a hole stays a hole, as Array.prototype.map keeps it
          continue;
        }
        const v: unknown = node[i];
        if (v && typeof v === "object") {
          keys.push(i);
          out[i] = walk(v);
          keys.pop();
        } else {
          out[i] = v;
        }
      }
      return out;
    }
    const record = node as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record)) {
      const v = record[key];
      if (v && typeof v === "object") {
        keys.push(key);
        out[key] = walk(v);
        keys.pop();
      } else {
        out[key] = v;
      }
    }
    return out;
  };
  return value && typeof value === "object" ? walk(value) : value;
}

interface Entry {
  value: unknown;
  bytes: number;
  /** false: the sandbox never sees it, and clients get it only if they are allowed non-readable refs. */
  readable: boolean;
  /** The tool that produced it, for clear errors and reports. */
  source: string;
}

export class RefSidecar {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;

  constructor(
    private readonly limits: RefLimits = DEFAULT_REF_LIMITS,
    private readonly budget?: SidecarBudget,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Stores a value and returns its token; a limit hit is a RefError, never an unbounded store. */
  put(value: unknown, options: { readable: boolean; source: string }): RefToken {
    const text = JSON.stringify(value ?? null);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.limits.maxRefBytes)
      throw new RefError(
        "ref_limit",
        `${options.source} returned ${bytes} bytes; a stored reference holds at most ${this.limits.maxRefBytes}`,
      );
    if (this.totalBytes + bytes > this.limits.maxTotalBytes)
      throw new RefError(
        "ref_limit",
        `the session's references would exceed ${this.limits.maxTotalBytes} bytes`,
      );
    if (this.entries.size >= this.limits.maxRefs)
      throw new RefError(
        "ref_limit",
        `the session holds its maximum of ${this.limits.maxRefs} references`,
      );
    try {
      this.budget?.chargeSidecar(bytes);
    } catch (err) {
      throw new RefError("memory_budget", (err as Error).message);
    }
    const id = `ref_${toBase64Url(crypto.getRandomValues(new Uint8Array(16)))}`;
    this.entries.set(id, {
      value: value ?? null,
      bytes,
      readable: options.readable,
      source: options.source,
    });
    this.totalBytes += bytes;
    return { $ref: { id } };
  }

  /**
   * For a broker: every token in `args` replaced by its value (unknown ids are refused). A
   * non-readable value may only go where the tool declares it accepts one (`accepts`, dotted
   * paths as in redact); `tainted` says whether any did, so the result can stay non-readable.
   */
  resolveArgs(
    args: unknown,
    tool: { name: string; accepts: readonly string[] },
  ): { value: unknown; tainted: boolean } {
    let tainted = false;
    // A stored value may hold tokens itself (a by-ref result with redacted fields): those are
    // resolved too, at their place in the arguments. Values only hold older tokens: no cycles.
    const resolve = (value: unknown, at: readonly string[]): unknown =>
      mapRefs(
        value,
        (token, path) => {
          const entry = this.entry(token.$ref.id);
          if (!entry.readable) {
            if (!tool.accepts.some((pattern) => pathMatches(path, pattern))) {
              const where = path.join(".") || "(the arguments)";
              throw new RefError(
                "not_readable",
                `${token.$ref.id} holds a value from ${entry.source} that is not readable, and ${tool.name} does not accept one at ${where}`,
              );
            }
            tainted = true;
          }
          return resolve(entry.value, path);
        },
        at,
      );
    return { value: resolve(args, []), tainted };
  }

  /** For a client: the value of one ref, if it may have it. */
  resolveForClient(id: string, allowNonReadable: boolean): unknown {
    const entry = this.entry(id);
    if (!entry.readable && !allowNonReadable)
      throw new RefError(
        "not_readable",
        `${id} holds a value from ${entry.source} that is not readable outside the tools`,
      );
    return entry.value;
  }

  /** Readable refs in `value` replaced by their values while the total stays within `maxBytes`. */
  resolveReadable(value: unknown, maxBytes: number): unknown {
    let budget = maxBytes;
    return mapRefs(value, (token) => {
      const entry = this.entries.get(token.$ref.id);
      if (!entry?.readable || entry.bytes > budget) return token;
      budget -= entry.bytes;
      return entry.value;
    });
  }

  /**
   * Drops the values nobody outside the tools may read (once no tool can be called any more).
   * Their entries stay, empty, so a client asking for one hears "not readable", not "unknown".
   */
  dropNonReadable(): void {
    for (const entry of this.entries.values()) {
      if (entry.readable) continue;
      entry.value = undefined;
      this.totalBytes -= entry.bytes;
      this.budget?.releaseSidecar(entry.bytes);
      entry.bytes = 0;
    }
  }

  clear(): void {
    this.entries.clear();
    this.budget?.releaseSidecar(this.totalBytes);
    this.totalBytes = 0;
  }

  private entry(id: string): Entry {
    const entry = this.entries.get(id);
    if (!entry) throw new RefError("unknown_ref", `${id} is not a reference of this session`);
    return entry;
  }
}
