// Canonical JSON is RFC 8785 (JCS): object members sorted by their names' UTF-16 code units
// (what Array.prototype.sort does), no whitespace, strings and numbers exactly as ECMAScript's
// JSON.stringify writes them (which is what JCS specifies). Both the server and independent
// verifiers hash this exact text, so anything outside JCS's data model (I-JSON) is refused
// rather than silently changed: lone surrogates in strings or member names, sparse arrays,
// non-finite numbers, undefined, functions, symbols, bigints and objects that are not plain
// objects or arrays. Browser-safe.

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function canonicalJson(value: unknown): string {
  return encode(value, "$");
}

function encodeString(text: string, path: string): string {
  if (LONE_SURROGATE.test(text))
    throw new TypeError(`canonicalJson: ${path} contains a lone surrogate`);
  return JSON.stringify(text);
}

function encode(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return encodeString(value, path);
    case "number":
      if (!Number.isFinite(value))
        throw new TypeError(`canonicalJson: ${path} is not a finite number`);
      return JSON.stringify(value);
    case "object": {
      const proto = Object.getPrototypeOf(value);
      if (Array.isArray(value)) {
        if (proto !== Array.prototype)
          throw new TypeError(`canonicalJson: ${path} is not a plain array`);
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) {
          if (!(i in value))
            throw new TypeError(`canonicalJson: ${path}[${i}] is a hole (sparse array)`);
          items.push(encode(value[i], `${path}[${i}]`));
        }
        return `[${items.join(",")}]`;
      }
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonicalJson: ${path} is not a plain object`);
      }
      if (Object.getOwnPropertySymbols(value).length > 0) {
        throw new TypeError(`canonicalJson: ${path} has symbol keys`);
      }
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const where = `${path}.${key}`;
        members.push(
          `${encodeString(key, `${where} (member name)`)}:${encode(record[key], where)}`,
        );
      }
      return `{${members.join(",")}}`;
    }
    default:
      // undefined, function, symbol, bigint: none is JSON data.
      throw new TypeError(`canonicalJson: ${path} has unsupported type ${typeof value}`);
  }
}
