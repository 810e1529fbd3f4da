// Checks the receipt of an /invoke answer for a caller that asked for one: signed by the pinned
// identity key, for this statement, this function, this status and exactly the bytes sent and
// received. Anything else is a ReceiptError. What the receipt says about egress is then the
// server's signed word, checkable against GET /egress-log.
import { fromBase64Url } from "../crypto/encoding.ts";
import type { AttestationStatement } from "../wire/attestation.ts";
import {
  sha256Hex,
  SignedReceiptSchema,
  statementSha256,
  verifyReceiptSignature,
  type Receipt,
} from "../wire/receipt.ts";
import { ReceiptError } from "./errors.ts";
import { parseWire } from "./parse.ts";

export interface ReceiptExpectation {
  statement: AttestationStatement;
  fn: string;
  status: number;
  request: Uint8Array;
  response: Uint8Array;
}

export async function checkReceipt(raw: unknown, expected: ReceiptExpectation): Promise<Receipt> {
  if (raw === undefined) throw new ReceiptError("the answer carries no receipt");
  const parsed = parseWire(SignedReceiptSchema, raw);
  if (!parsed.success) throw new ReceiptError("the receipt is not a signed receipt");
  const { receipt } = parsed.data;
  if (!(await verifyReceiptSignature(parsed.data, fromBase64Url(expected.statement.identityKey)))) {
    throw new ReceiptError("the receipt is not signed by the pinned identity key");
  }
  const mismatch =
    receipt.kid !== expected.statement.kid
      ? "kid"
      : receipt.statementSha256 !== statementSha256(expected.statement)
        ? "statement"
        : receipt.fn !== expected.fn
          ? "function"
          : receipt.status !== expected.status
            ? "status"
            : receipt.requestSha256 !== sha256Hex(expected.request)
              ? "request digest"
              : receipt.responseSha256 !== sha256Hex(expected.response)
                ? "response digest"
                : undefined;
  if (mismatch) throw new ReceiptError(`the receipt's ${mismatch} is not this call's`);
  return receipt;
}
