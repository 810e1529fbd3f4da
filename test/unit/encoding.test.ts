import { describe, expect, test } from "bun:test";
import {
  bytesEqual, concatBytes, fromBase64, fromBase64Url, fromHex, fromUtf8, toBase64, toBase64Url, toHex, utf8,
} from "../../src/crypto/encoding.ts";

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

  test("utf8 is strict on decode", () => {
    expect(fromUtf8(utf8("héllo ✓"))).toBe("héllo ✓");
    expect(() => fromUtf8(new Uint8Array([0xff, 0xfe]))).toThrow();
  });

  test("concat and constant-time equality", () => {
    expect(concatBytes(new Uint8Array([1]), new Uint8Array([]), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
  });
});
