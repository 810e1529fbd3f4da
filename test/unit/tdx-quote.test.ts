import { describe, expect, test } from "bun:test";
import { parseTdxQuote } from "../../sdk/verify/tdx-quote.ts";

function quote(version: number, teeType: number, reportByte: number): Uint8Array {
  const bodyOffset = 48 + (version === 5 ? 6 : 0);
  const bytes = new Uint8Array(bodyOffset + 584 + 4);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, version, true);
  view.setUint32(4, teeType, true);
  bytes.fill(reportByte, bodyOffset + 520, bodyOffset + 584);
  bytes.fill(0x33, bodyOffset + 472, bodyOffset + 520); // RTMR3
  return bytes;
}

describe("parseTdxQuote", () => {
  test("reads report data and RTMR3 from v4 and v5 quotes", () => {
    for (const version of [4, 5]) {
      const fields = parseTdxQuote(quote(version, 0x81, 0xab));
      expect(fields.version).toBe(version);
      expect(fields.reportData).toEqual(new Uint8Array(64).fill(0xab));
      expect(fields.rtmr[3]).toBe("33".repeat(48));
    }
  });

  test("refuses short input, other TEE types and unknown versions", () => {
    expect(() => parseTdxQuote(new Uint8Array(100))).toThrow("too short");
    expect(() => parseTdxQuote(quote(4, 0x00, 1))).toThrow("not a TDX quote");
    expect(() => parseTdxQuote(quote(3, 0x81, 1))).toThrow("unsupported TDX quote version 3");
    expect(() => parseTdxQuote("zz")).toThrow("invalid hex");
  });
});
