// A deterministic ustar writer and a small tar reader for scripts/image.ts. The writer's bytes
// depend only on the entries: sorted by path, fixed owners, modes and times, no user or group
// names, no extended headers (names are kept within ustar's 100 + 155 bytes). The reader takes
// a Debian package's data tar apart and keeps only type, path, mode, size and link target:
// the package's timestamps and owners are never trusted.

export type TarEntry =
  | { type: "dir"; path: string; mode: number; uid: number; gid: number }
  | { type: "file"; path: string; mode: number; uid: number; gid: number; data: Uint8Array }
  | { type: "symlink"; path: string; mode: number; uid: number; gid: number; target: string };

const BLOCK = 512;
const encoder = new TextEncoder();

function octal(value: number, width: number): string {
  const text = value.toString(8);
  if (text.length > width - 1) throw new Error(`${value} does not fit a ${width}-byte tar field`);
  return text.padStart(width - 1, "0") + "\0";
}

function put(header: Uint8Array, offset: number, text: string, width: number) {
  const bytes = encoder.encode(text);
  if (bytes.length > width) throw new Error(`tar field "${text}" is longer than ${width} bytes`);
  header.set(bytes, offset);
}

/** Splits a path into ustar's prefix and name fields. */
function splitName(path: string): [prefix: string, name: string] {
  if (encoder.encode(path).length <= 100) return ["", path];
  const cut = path.lastIndexOf("/", path.length - 2);
  const prefix = path.slice(0, cut);
  const name = path.slice(cut + 1);
  if (cut <= 0 || encoder.encode(prefix).length > 155 || encoder.encode(name).length > 100) {
    throw new Error(`path too long for ustar: ${path}`);
  }
  return [prefix, name];
}

function header(entry: TarEntry, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const path = entry.type === "dir" ? `${entry.path}/` : entry.path;
  const [prefix, name] = splitName(path);
  put(h, 0, name, 100);
  put(h, 100, octal(entry.mode, 8), 8);
  put(h, 108, octal(entry.uid, 8), 8);
  put(h, 116, octal(entry.gid, 8), 8);
  put(h, 124, octal(entry.type === "file" ? entry.data.length : 0, 12), 12);
  put(h, 136, octal(mtime, 12), 12);
  put(h, 148, "        ", 8); // the checksum counts its own field as spaces
  put(h, 156, entry.type === "file" ? "0" : entry.type === "symlink" ? "2" : "5", 1);
  if (entry.type === "symlink") put(h, 157, entry.target, 100);
  put(h, 257, "ustar\u000000", 8);
  put(h, 329, octal(0, 8), 8); // devmajor
  put(h, 337, octal(0, 8), 8); // devminor
  put(h, 345, prefix, 155);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(h, 148, `${sum.toString(8).padStart(6, "0")}\0 `, 8);
  return h;
}

/** The tar bytes of these entries, in path order, every entry with the same mtime. */
export function writeTar(entries: TarEntry[], mtime: number): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.path === sorted[i - 1]!.path)
      throw new Error(`duplicate tar entry ${sorted[i]!.path}`);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const entry of sorted) {
    if (entry.path.startsWith("/") || entry.path.split("/").includes(".."))
      throw new Error(`unsafe tar path ${entry.path}`);
    parts.push(header(entry, mtime));
    total += BLOCK;
    if (entry.type === "file") {
      parts.push(entry.data);
      const padded = Math.ceil(entry.data.length / BLOCK) * BLOCK;
      if (padded > entry.data.length) parts.push(new Uint8Array(padded - entry.data.length));
      total += padded;
    }
  }
  parts.push(new Uint8Array(2 * BLOCK)); // end of archive
  total += 2 * BLOCK;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export interface ReadEntry {
  type: "file" | "dir" | "symlink" | "hardlink" | "other";
  path: string;
  mode: number;
  target: string;
  data: Uint8Array;
}

const decoder = new TextDecoder();
const field = (h: Uint8Array, offset: number, width: number) => {
  const raw = h.subarray(offset, offset + width);
  const end = raw.indexOf(0);
  return decoder.decode(end === -1 ? raw : raw.subarray(0, end));
};
const number = (h: Uint8Array, offset: number, width: number) =>
  parseInt(field(h, offset, width).trim() || "0", 8);

/** Reads ustar, GNU long names and pax path/linkpath records; paths lose their "./". */
export function readTar(bytes: Uint8Array): ReadEntry[] {
  const entries: ReadEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (offset + BLOCK <= bytes.length) {
    const h = bytes.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = number(h, 124, 12);
    const type = String.fromCharCode(h[156]!);
    const data = bytes.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") longName = decoder.decode(data).replace(/\0+$/, "");
    else if (type === "K") longLink = decoder.decode(data).replace(/\0+$/, "");
    else if (type === "x") {
      for (const record of decoder.decode(data).split("\n")) {
        const m = /^\d+ (path|linkpath)=(.*)$/.exec(record);
        if (m?.[1] === "path") longName = m[2];
        if (m?.[1] === "linkpath") longLink = m[2];
      }
    } else if (type !== "g") {
      const prefix = field(h, 345, 155);
      const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
      const kind =
        type === "0" || type === "\0"
          ? "file"
          : type === "5"
            ? "dir"
            : type === "2"
              ? "symlink"
              : type === "1"
                ? "hardlink"
                : "other";
      entries.push({
        type: kind,
        path: name.replace(/^\.?\/+/, "").replace(/\/+$/, ""),
        mode: number(h, 100, 8) & 0o7777,
        target: longLink ?? field(h, 157, 100),
        data,
      });
      longName = undefined;
      longLink = undefined;
    }
  }
  return entries;
}
