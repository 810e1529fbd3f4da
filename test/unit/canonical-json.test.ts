import { describe, expect, test } from "bun:test";
import { canonicalJson } from "../../src/crypto/canonical-json.ts";

describe("canonicalJson", () => {
  test("sorts keys at every depth and has no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: null, y: true }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":true,"z":null}]},"b":1}',
    );
  });

  test("orders keys by UTF-16 code units, like Array.prototype.sort", () => {
    expect(canonicalJson({ b: 0, B: 0, "é": 0, a: 0, "10": 0, "9": 0 })).toBe('{"10":0,"9":0,"B":0,"a":0,"b":0,"é":0}');
  });

  test("escapes strings exactly as JSON.stringify", () => {
    const s = 'quote " backslash \\ newline \n control \u0001 emoji 😀 lone \ud800';
    expect(canonicalJson({ s })).toBe(`{"s":${JSON.stringify(s)}}`);
  });

  test("omits undefined members and refuses values JSON cannot carry", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(() => canonicalJson({ n: NaN })).toThrow("$.n is not a finite number");
    expect(() => canonicalJson({ n: Infinity })).toThrow("finite");
    expect(() => canonicalJson({ d: new Date(0) })).toThrow("$.d is not a plain object");
    expect(() => canonicalJson({ f: () => 1 })).toThrow("unsupported type function");
    expect(() => canonicalJson({ b: 1n })).toThrow("unsupported type bigint");
  });

  test("top-level primitives and arrays", () => {
    expect(canonicalJson([1, "a", false, null])).toBe('[1,"a",false,null]');
    expect(canonicalJson(-0.5e-7)).toBe("-5e-8");
  });
});
