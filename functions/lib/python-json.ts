// Python's json.dumps with its defaults (", " and ": " separators, ensure_ascii), which is what
// the seed's `requests.post(json=...)` sent. Reproducing it keeps upstream bodies byte-identical.

export function pythonJsonDumps(value: unknown): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("pythonJsonDumps: non-finite number");
    return Number.isInteger(value) ? String(value) : String(value); // repr(0.7) == "0.7"
  }
  if (typeof value === "string") return quote(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${quote(k)}: ${pythonJsonDumps(v)}`)
      .join(", ")}}`;
  }
  throw new TypeError(`pythonJsonDumps: unsupported type ${typeof value}`);
}

const SHORT: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

function quote(text: string): string {
  // Everything outside printable ASCII becomes \uXXXX (UTF-16 units, lower-case hex).
  return `"${text.replace(/[\\"]|[^ -~]/g, (ch) => SHORT[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}
