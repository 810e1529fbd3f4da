// Byte encodings used on the wire. Browser-safe: no Node or Bun APIs.

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

export function fromHex(hex: string): Uint8Array {
  const clean = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (!HEX.test(clean)) throw new Error("invalid hex string");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// The native Uint8Array base64 methods (Bun, current browsers) are ~30x faster than building a
// binary string for btoa; the fallback keeps older browsers working.
type NativeBase64 = { toBase64?: (this: Uint8Array) => string };
type NativeFromBase64 = { fromBase64?: (text: string) => Uint8Array };
const nativeToBase64 = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFromBase64 = (Uint8Array as unknown as NativeFromBase64).fromBase64;

export function toBase64(bytes: Uint8Array): string {
  if (nativeToBase64) return nativeToBase64.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

// Decoders are strict: a text is accepted only if it is exactly what the encoder would write
// for the bytes it decodes to. Base64 has spare bits in its last character (and padding to get
// wrong), so without this several strings decode to one key, and a cache keyed by the string
// (a replay cache, say) counts one key several times. Whitespace, the other alphabet, missing or
// extra padding and non-zero spare bits are all refused.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): Uint8Array {
  if (nativeFromBase64) return nativeFromBase64(text);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Standard base64 with padding (DESIGN's nonceB64/ciphertextB64), canonical only. */
export function fromBase64(text: string): Uint8Array {
  if (!BASE64.test(text) || text.length % 4 !== 0) throw new Error("invalid base64 string");
  const bytes = decodeBase64(text);
  if (toBase64(bytes) !== text)
    throw new Error("invalid base64 string: not the canonical encoding");
  return bytes;
}

export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url (keys, signatures, sealed-invoke fields), canonical only. */
export function fromBase64Url(text: string): Uint8Array {
  // A length of 1 mod 4 cannot encode whole bytes.
  if (!BASE64URL.test(text) || text.length % 4 === 1) throw new Error("invalid base64url string");
  const padded =
    text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const bytes = decodeBase64(padded);
  if (toBase64Url(bytes) !== text)
    throw new Error("invalid base64url string: not the canonical encoding");
  return bytes;
}

/** Whether `text` is canonical unpadded base64url (for schemas that check before decoding). */
export function isCanonicalBase64Url(text: string): boolean {
  try {
    fromBase64Url(text);
    return true;
  } catch {
    return false;
  }
}

/** Constant-time comparison for secrets and MACs of equal public length. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
