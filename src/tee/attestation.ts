// Builds the attestation statement and binds it to a quote (DESIGN "Attestation").
import { toBase64Url } from "../../sdk/crypto/encoding.ts";
import { keyId } from "../../sdk/crypto/keys.ts";
import {
  attestationReportData,
  type AttestationResponse,
  type AttestationStatement,
} from "../../sdk/wire/attestation.ts";
import type { SourceProvenance } from "../../sdk/wire/source.ts";
import type { Tee } from "./types.ts";

export interface Attestor {
  /** The statement without a nonce: what every report and handshake refers to. */
  readonly statement: AttestationStatement;
  /** A statement (with the verifier's nonce, if any) and its quote. */
  attest(nonce?: string): Promise<AttestationResponse>;
}

export function createAttestor(
  tee: Tee,
  binarySha256: string | null,
  source: SourceProvenance,
): Attestor {
  const identityKey = tee.identityKey().publicKey;
  const statement: AttestationStatement = {
    v: 1,
    identityKey: toBase64Url(identityKey),
    invokeKey: toBase64Url(tee.invokeKey().publicKey),
    kid: keyId(identityKey),
    binarySha256,
    source,
    tee: tee.info(),
  };

  const bind = async (s: AttestationStatement): Promise<AttestationResponse> => {
    const quote = await tee.quote(attestationReportData(s));
    if (!quote) return { statement: s, vmConfig: null, keyProvenance: null, attested: false };
    return {
      statement: s,
      quote: quote.quote,
      eventLog: quote.eventLog,
      vmConfig: quote.vmConfig,
      keyProvenance: tee.keyProvenance(),
      attested: true,
    };
  };

  // The nonce-less statement never changes, so its quote is fetched once (quotes are slow on
  // real hardware); a failed fetch is not cached.
  let plain: Promise<AttestationResponse> | undefined;
  return {
    statement,
    attest(nonce) {
      if (nonce !== undefined) return bind({ ...statement, nonce });
      plain ??= bind(statement).catch((err) => {
        plain = undefined;
        throw err;
      });
      return plain;
    },
  };
}
