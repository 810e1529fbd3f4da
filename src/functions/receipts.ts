// Signs the receipt of every /invoke answer (DESIGN "Provenance, receipts and the public egress
// log") with the identity key, natively and synchronously (node:crypto, ~50 µs; noble's
// JavaScript ECDSA would add ~1 ms to every call). The SDK and verifiers check it with the
// identity key from the statement.
import { createPrivateKey, sign, type KeyObject } from "node:crypto";
import { toBase64Url } from "../../sdk/crypto/encoding.ts";
import type { P256KeyPair } from "../crypto/index.ts";
import type { EgressEntry, LogHead } from "../egress/index.ts";
import {
  receiptSigningInput,
  sha256Hex,
  type Receipt,
  type SignedReceipt,
} from "../../sdk/wire/receipt.ts";

export interface ReceiptFacts {
  app: string;
  fn: string;
  status: number;
  request: Uint8Array;
  response: Uint8Array;
  /** Every log entry the call caused, in order. */
  caused: readonly EgressEntry[];
  logHead: LogHead;
}

export class ReceiptSigner {
  private readonly key: KeyObject;

  constructor(
    identity: P256KeyPair,
    private readonly kid: string,
    private readonly statementSha256: string,
  ) {
    this.key = createPrivateKey({
      format: "jwk",
      key: {
        kty: "EC",
        crv: "P-256",
        d: toBase64Url(identity.privateKey),
        x: toBase64Url(identity.publicKey.subarray(1, 33)),
        y: toBase64Url(identity.publicKey.subarray(33, 65)),
      },
    });
  }

  sign(facts: ReceiptFacts): SignedReceipt {
    const receipt: Receipt = {
      v: 1,
      kid: this.kid,
      app: facts.app,
      fn: facts.fn,
      ts: Date.now(),
      status: facts.status,
      requestSha256: sha256Hex(facts.request),
      responseSha256: sha256Hex(facts.response),
      egress: facts.caused.map(({ seq, digest, host, method, path, status, allowed }) => ({
        seq,
        digest,
        host,
        method,
        path,
        status,
        allowed,
      })),
      logHead: facts.logHead,
      statementSha256: this.statementSha256,
    };
    const signature = sign("sha256", receiptSigningInput(receipt), {
      key: this.key,
      dsaEncoding: "ieee-p1363",
    });
    return { receipt, signature: toBase64Url(signature) };
  }
}
