import { describe, expect, test } from "bun:test";
import {
  bytesEqual,
  concatBytes,
  fromBase64,
  fromBase64Url,
  fromHex,
  fromUtf8,
  isCanonicalBase64Url,
  toBase64,
  toBase64Url,
  toHex,
  utf8,
} from "../../sdk/crypto/encoding.ts";

describe("encoding", () => {
  test("hex round-trips and matches Buffer", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(257));
    expect(toHex(bytes)).toBe(Buffer.from(bytes).toString("hex"));
    expect(fromHex(toHex(bytes))).toEqual(bytes);
    expect(fromHex("0xABff")).toEqual(new Uint8Array([0xab, 0xff]));
  });

  test("hex refuses odd lengths and non-hex characters", () => {
    expect(() => fromHex("abc")).toThrow("invalid hex");
    expect(() => fromHex("zz")).toThrow("invalid hex");
  });

  test("base64 and base64url match Buffer for every length mod 3", () => {
    for (const n of [0, 1, 2, 3, 4, 5, 100_000]) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
      expect(toBase64Url(bytes)).toBe(Buffer.from(bytes).toString("base64url"));
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
    }
  });

  test("base64url refuses padding, standard alphabet and impossible lengths", () => {
    expect(() => fromBase64Url("AA==")).toThrow("invalid base64url");
    expect(() => fromBase64Url("a+b/")).toThrow("invalid base64url");
    expect(() => fromBase64Url("AAAAA")).toThrow("invalid base64url");
    expect(() => fromBase64("AAA")).toThrow("invalid base64");
  });

  test("base64url: every other spelling of a 65-byte key is refused (spare bits, padding, whitespace, alphabet)", () => {
    const key = crypto.getRandomValues(new Uint8Array(65));
    key.set([0xfb, 0xff, 0xbf], 0); // "-_-_": the two characters the alphabets disagree on
    const text = toBase64Url(key);
    expect(text.length).toBe(87); // 520 bits in 87 six-bit characters: 2 spare bits
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(text.at(-1)!);
    const spellings = [0, 1, 2, 3].map(
      (spare) => text.slice(0, -1) + alphabet[(last & ~3) | spare],
    );
    expect(spellings).toContain(text);
    for (const other of spellings.filter((s) => s !== text)) {
      // The lenient decoders agree that these are the same key: that is the attack.
      expect(new Uint8Array(Buffer.from(other, "base64url"))).toEqual(key);
      expect(() => fromBase64Url(other)).toThrow("not the canonical encoding");
    }
    for (const bad of [
      text + "=",
      ` ${text}`,
      `${text}\n`,
      text.slice(0, 40) + " " + text.slice(40),
      text.replace(/-/g, "+").replace(/_/g, "/"),
    ]) {
      expect(() => fromBase64Url(bad)).toThrow("invalid base64url");
    }
    expect(isCanonicalBase64Url(text)).toBe(true);
    expect(isCanonicalBase64Url(spellings.find((s) => s !== text)!)).toBe(false);
  });

  test("standard base64: spare bits, missing or extra padding, whitespace and the url alphabet are refused", () => {
    expect(fromBase64("AA==")).toEqual(new Uint8Array([0]));
    for (const bad of [
      "AB==",
      "AAB=",
      "AA",
      "AA=",
      "AA===",
      " AA==",
      "AA==\n",
      "A A=",
      "_w==",
      "-w==",
    ]) {
      expect(() => fromBase64(bad)).toThrow("invalid base64");
    }
    // A 12-byte nonce and a tag-sized ciphertext: no padding, every spelling is its own bytes.
    const nonce = new Uint8Array(12);
    expect(fromBase64(toBase64(nonce))).toEqual(nonce);
  });

  test("utf8 is strict on decode", () => {
    expect(fromUtf8(utf8("héllo ✓"))).toBe("héllo ✓");
    expect(() => fromUtf8(new Uint8Array([0xff, 0xfe]))).toThrow();
  });

  test("concat and constant-time equality", () => {
    expect(concatBytes(new Uint8Array([1]), new Uint8Array([]), new Uint8Array([2, 3]))).toEqual(
      new Uint8Array([1, 2, 3]),
    );
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
  });
});
