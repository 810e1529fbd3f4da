import type { P256KeyPair } from "../crypto/index.ts";
import type { KeyProvenance, TeeDescription } from "../../sdk/wire/attestation.ts";

export type TeeProvider = TeeDescription["provider"];

export interface TeeQuote {
  /** Hex-encoded TDX quote. */
  quote: string;
  /** The guest agent's event log (JSON text), for RTMR replay. */
  eventLog: string;
  /** GetQuote's vm_config, verbatim (null when the agent sent none). */
  vmConfig: string | null;
}

/** What the server needs from the trusted environment. Keys are loaded once at start-up. */
export interface Tee {
  readonly provider: TeeProvider;
  /** P-256 signing key: signs session handshakes; clients pin its public half. */
  identityKey(): P256KeyPair;
  /** P-256 ECDH key for sealed invokes. */
  invokeKey(): P256KeyPair;
  /** 32-byte AES-256-GCM key for sealed state. */
  sealingKey(): Uint8Array;
  /** A hardware quote over at most 64 bytes of report data; null when the provider cannot attest. */
  quote(reportData: Uint8Array): Promise<TeeQuote | null>;
  info(): TeeDescription;
  /** GetKey's signature chain for each key path; null when keys come from no KMS (dev). */
  keyProvenance(): KeyProvenance | null;
  /** Asks the provider something cheap (readiness); throws TeeError when it does not answer. */
  probe(): Promise<void>;
}

/** Raised when the TEE cannot be used; start-up stops with its message. */
export class TeeError extends Error {
  override name = "TeeError";
}
