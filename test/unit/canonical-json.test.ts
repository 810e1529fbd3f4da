// Canonical JSON against RFC 8785 (JCS). The vectors are the RFC's own: the sorting example of
// section 3.2.3, the primitive-serialization example of section 3.2.2, and the number samples
// of Appendix B (IEEE 754 bit patterns and their required text). Source:
// https://www.rfc-editor.org/rfc/rfc8785 (facts only; the encoder is ours).
import { describe, expect, test } from "bun:test";
import { canonicalJson } from "../../sdk/crypto/canonical-json.ts";

const fromBits = (hex: string) =>
  new DataView(new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16))).buffer).getFloat64(0);

describe("canonicalJson (RFC 8785)", () => {
  test("RFC 8785 section 3.2.3: members sorted by UTF-16 code units", () => {
    // The RFC's input, written with the same escapes it uses.
    const input = JSON.parse(`{
      "\\u20ac": "Euro Sign",
      "\\r": "Carriage Return",
      "\\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\\ud83d\\ude00": "Emoji: Grinning Face",
      "\\u0080": "Control",
      "\\u00f6": "Latin Small Letter O With Diaeresis"
    }`);
    const keys = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) =>
      JSON.parse(`"${m[1]}"`),
    );
    expect(keys).toEqual(["\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"]);
  });

  test("RFC 8785 section 3.2.2: the serialization of primitive data types", () => {
    const input = JSON.parse(`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`);
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test("RFC 8785 Appendix B: every finite number sample; NaN and Infinity are refused", () => {
    const samples: [string, string][] = [
      ["0000000000000000", "0"],
      ["8000000000000000", "0"],
      ["0000000000000001", "5e-324"],
      ["8000000000000001", "-5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"],
      ["ffefffffffffffff", "-1.7976931348623157e+308"],
      ["4340000000000000", "9007199254740992"],
      ["c340000000000000", "-9007199254740992"],
      ["4430000000000000", "295147905179352830000"],
      ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"],
      ["44b52d02c7e14af7", "1.0000000000000001e+23"],
      ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"],
      ["444b1ae4d6e2ef50", "1e+21"],
      ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"],
      ["41b3de4355555553", "333333333.3333332"],
      ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"],
      ["41b3de4355555556", "333333333.3333334"],
      ["41b3de4355555557", "333333333.33333343"],
      ["becbf647612f3696", "-0.0000033333333333333333"],
      ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    for (const [bits, text] of samples)
      expect({ bits, text: canonicalJson(fromBits(bits)) }).toEqual({ bits, text });
    expect(() => canonicalJson(fromBits("7fffffffffffffff"))).toThrow("not a finite number");
    expect(() => canonicalJson(fromBits("7ff0000000000000"))).toThrow("not a finite number");
  });

  test("sorts keys at every depth and has no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: null, y: true }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":true,"z":null}]},"b":1}',
    );
  });

  test("escapes strings exactly as JSON.stringify for well-formed text", () => {
    const s = 'quote " backslash \\ newline \n control \u0001 emoji 😀 del \u007f';
    expect(canonicalJson({ s })).toBe(`{"s":${JSON.stringify(s)}}`);
  });

  test("refuses lone surrogates in strings and in member names, at any depth", () => {
    expect(() => canonicalJson("lone \ud800")).toThrow("$ contains a lone surrogate");
    expect(() => canonicalJson({ a: ["\udc00 trailing"] })).toThrow(
      "$.a[0] contains a lone surrogate",
    );
    expect(() => canonicalJson({ "\ud83d": 1 })).toThrow("member name");
    expect(() => canonicalJson("reversed \ude00\ud83d")).toThrow("lone surrogate");
    expect(canonicalJson("pair \ud83d\ude00")).toBe('"pair 😀"');
  });

  test("refuses sparse arrays instead of writing [1,,3]", () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is refused
    expect(() => canonicalJson([1, , 3])).toThrow("$[1] is a hole");
    expect(() => canonicalJson({ list: new Array(2) })).toThrow("$.list[0] is a hole");
    expect(canonicalJson([1, null, 3])).toBe("[1,null,3]");
  });

  test("refuses every value JSON cannot carry, as a member or an element", () => {
    expect(() => canonicalJson({ a: undefined })).toThrow("$.a has unsupported type undefined");
    expect(() => canonicalJson([undefined])).toThrow("$[0] has unsupported type undefined");
    expect(() => canonicalJson({ n: NaN })).toThrow("$.n is not a finite number");
    expect(() => canonicalJson({ n: -Infinity })).toThrow("finite");
    expect(() => canonicalJson({ f: () => 1 })).toThrow("unsupported type function");
    expect(() => canonicalJson({ s: Symbol("x") })).toThrow("unsupported type symbol");
    expect(() => canonicalJson({ b: 1n })).toThrow("unsupported type bigint");
    expect(() => canonicalJson({ d: new Date(0) })).toThrow("$.d is not a plain object");
    expect(() => canonicalJson({ m: new Map() })).toThrow("not a plain object");
    expect(() => canonicalJson({ u: new Uint8Array(1) })).toThrow("not a plain object");
    class Sub extends Array {}
    expect(() => canonicalJson(Sub.from([1]))).toThrow("not a plain array");
    expect(() => canonicalJson({ [Symbol("k")]: 1 })).toThrow("symbol keys");
  });

  test("plain objects without a prototype are fine; -0 is 0", () => {
    const bare = Object.assign(Object.create(null), { b: 2, a: 1 });
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
    expect(canonicalJson([-0, 1e21, 1e-7])).toBe("[0,1e+21,1e-7]");
  });
});
