// Receipts (DESIGN "Provenance, receipts and the public egress log"), shared by the server, the
// SDK and `auditor verify`: every /invoke answer carries one, signed by the identity key, naming
// the exact request and response bytes, every egress log entry the call caused, the log head and
// the statement. signature = ECDSA P-256 SHA-256 over "auditor-receipt-v1:" ‖ JCS(receipt).
import { z } from "zod/mini";
import { sha256 } from "@noble/hashes/sha2";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { fromBase64Url, fromUtf8, toBase64Url, toHex, utf8 } from "../crypto/encoding.ts";
import type { AttestationStatement } from "./attestation.ts";

export const RECEIPT_DOMAIN = "auditor-receipt-v1:";
/** The response header of a plain call: base64url(JCS({ receipt, signature })). */
export const RECEIPT_HEADER = "auditor-receipt";

const Hex64 = z.string().check(z.regex(/^[0-9a-f]{64}$/));

export const ReceiptEgressSchema = z.strictObject({
  seq: z.number().check(z.int(), z.gte(1)),
  digest: Hex64,
  host: z.string(),
  method: z.string(),
  path: z.string(),
  status: z.nullable(z.number().check(z.int())),
  allowed: z.boolean(),
});

export const LogHeadSchema = z.strictObject({
  seq: z.number().check(z.int(), z.gte(0)),
  digest: Hex64,
});

export const ReceiptSchema = z.strictObject({
  v: z.literal(1),
  kid: z.string().check(z.length(16)),
  app: z.string(),
  fn: z.string(),
  /** When the answer was made, ms since the epoch. */
  ts: z.number().check(z.int()),
  status: z.number().check(z.int()),
  requestSha256: Hex64,
  responseSha256: Hex64,
  egress: z.array(ReceiptEgressSchema),
  logHead: LogHeadSchema,
  statementSha256: Hex64,
});
export type Receipt = z.infer<typeof ReceiptSchema>;

export const SignedReceiptSchema = z.strictObject({
  receipt: ReceiptSchema,
  signature: z.string().check(z.regex(/^[A-Za-z0-9_-]{86}$/)),
});
export type SignedReceipt = z.infer<typeof SignedReceiptSchema>;

export const sha256Hex = (bytes: Uint8Array) => toHex(sha256(bytes));

/** The bytes the identity key signs. */
export function receiptSigningInput(receipt: Receipt): Uint8Array {
  return utf8(RECEIPT_DOMAIN + canonicalJson(receipt));
}

/** SHA-256 (hex) of the canonical JSON of the statement without its nonce. */
export function statementSha256(statement: AttestationStatement): string {
  const { nonce: _nonce, ...plain } = statement;
  return sha256Hex(utf8(canonicalJson(plain)));
}

export function encodeReceiptHeader(signed: SignedReceipt): string {
  return toBase64Url(utf8(canonicalJson(signed)));
}

/** The header's receipt, or undefined when it is missing or not a receipt. */
export function decodeReceiptHeader(value: string | null | undefined): SignedReceipt | undefined {
  if (!value) return undefined;
  try {
    const parsed = SignedReceiptSchema.safeParse(JSON.parse(fromUtf8(fromBase64Url(value))));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Checks the signature with the identity key (SEC1 bytes), on WebCrypto. */
export async function verifyReceiptSignature(
  signed: SignedReceipt,
  identityKey: Uint8Array,
): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      identityKey as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      fromBase64Url(signed.signature) as Uint8Array<ArrayBuffer>,
      receiptSigningInput(signed.receipt) as Uint8Array<ArrayBuffer>,
    );
  } catch {
    return false;
  }
}
