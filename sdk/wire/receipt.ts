// Receipts (DESIGN "Provenance, receipts and the public egress log"), shared by the server, the
// SDK and `auditor verify`: every /invoke answer carries one, signed by the identity key, naming
// the exact request and response bytes, every egress log entry the call caused, the log head and
// the statement. signature = ECDSA P-256 SHA-256 over "auditor-receipt-v1:" ‖ JCS(receipt).
import { z } from "zod";
import { sha256 } from "@noble/hashes/sha2";
import { canonicalJson } from "../crypto/canonical-json.ts";
import { fromBase64Url, fromUtf8, toBase64Url, toHex, utf8 } from "../crypto/encoding.ts";
import type { AttestationStatement } from "./attestation.ts";

export const RECEIPT_DOMAIN = "auditor-receipt-v1:";
/** The response header of a plain call: base64url(JCS({ receipt, signature })). */
export const RECEIPT_HEADER = "auditor-receipt";

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const ReceiptEgressSchema = z
  .object({
    seq: z.number().int().min(1),
    digest: Hex64,
    host: z.string(),
    method: z.string(),
    path: z.string(),
    status: z.number().int().nullable(),
    allowed: z.boolean(),
  })
  .strict();

export const LogHeadSchema = z.object({ seq: z.number().int().min(0), digest: Hex64 }).strict();

export const ReceiptSchema = z
  .object({
    v: z.literal(1),
    kid: z.string().length(16),
    app: z.string(),
    fn: z.string(),
    /** When the answer was made, ms since the epoch. */
    ts: z.number().int(),
    status: z.number().int(),
    requestSha256: Hex64,
    responseSha256: Hex64,
    egress: z.array(ReceiptEgressSchema),
    logHead: LogHeadSchema,
    statementSha256: Hex64,
  })
  .strict();
export type Receipt = z.infer<typeof ReceiptSchema>;

export const SignedReceiptSchema = z.object({ receipt: ReceiptSchema, signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/) }).strict();
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
export async function verifyReceiptSignature(signed: SignedReceipt, identityKey: Uint8Array): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", identityKey as Uint8Array<ArrayBuffer>, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, fromBase64Url(signed.signature) as Uint8Array<ArrayBuffer>, receiptSigningInput(signed.receipt) as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}
