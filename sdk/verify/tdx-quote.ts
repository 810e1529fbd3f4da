// Reads the measured fields of an Intel TDX quote (DCAP v4/v5 layout). It does NOT verify the
// quote's signature chain: that is the job of a DCAP verifier (e.g. dcap-qvl); this only lets a
// client check that the report data and measurements it was shown are the ones in the quote.
import { fromHex, toHex } from "../crypto/encoding.ts";

export interface TdxQuoteFields {
  version: number;
  teeType: number;
  mrTd: string;
  rtmr: [string, string, string, string];
  reportData: Uint8Array;
}

const HEADER_BYTES = 48;
const TDX_TEE_TYPE = 0x81;
// Offsets inside the TD report body (TDX 1.0 TD Quote Body).
const MRTD_OFFSET = 136;
const RTMR0_OFFSET = 328;
const REPORT_DATA_OFFSET = 520;
const BODY_BYTES = 584;

export function parseTdxQuote(quote: Uint8Array | string): TdxQuoteFields {
  const bytes = typeof quote === "string" ? fromHex(quote) : quote;
  if (bytes.length < HEADER_BYTES + BODY_BYTES) throw new Error("TDX quote is too short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(0, true);
  const teeType = view.getUint32(4, true);
  if (version !== 4 && version !== 5) throw new Error(`unsupported TDX quote version ${version}`);
  if (teeType !== TDX_TEE_TYPE) throw new Error(`quote is not a TDX quote (tee type ${teeType})`);
  // v5 inserts a 6-byte body descriptor (type u16, size u32) before the body.
  const body = HEADER_BYTES + (version === 5 ? 6 : 0);
  if (bytes.length < body + BODY_BYTES) throw new Error("TDX quote is too short");
  const field = (offset: number, length: number) =>
    bytes.subarray(body + offset, body + offset + length);
  const rtmr = [0, 1, 2, 3].map((i) =>
    toHex(field(RTMR0_OFFSET + i * 48, 48)),
  ) as TdxQuoteFields["rtmr"];
  return {
    version,
    teeType,
    mrTd: toHex(field(MRTD_OFFSET, 48)),
    rtmr,
    reportData: field(REPORT_DATA_OFFSET, 64).slice(),
  };
}
