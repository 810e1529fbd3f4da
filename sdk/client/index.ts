// The Auditor client SDK: browsers (the binary serves this as an ESM bundle) and Bun/Node.
export {
  createClient,
  type AuditorClient,
  type ClientOptions,
  type DjOutput,
  type FixShaderOutput,
  type GeneratePromptInput,
  type GeneratePromptOutput,
  type InvokeOptions,
  type MusicCue,
  type YouTubeMetadataOutput,
} from "./client.ts";
export { SessionHandle, type ConnectOptions, type StartSessionOptions } from "./session.ts";
export type { CallOptions } from "./abort.ts";
export {
  AuditorError,
  HandshakeError,
  HttpError,
  LimitError,
  NetworkError,
  ProtocolError,
  ReceiptError,
  SessionFailedError,
} from "./errors.ts";
export type { CheckedEgressLog, CheckedSource, FollowOptions } from "./provenance.ts";
export type { EgressLogEntry } from "../wire/egress-log.ts";
export type { Receipt } from "../wire/receipt.ts";
export type { Report } from "../wire/report.ts";
export type { SessionEvent, SessionLimits, RefPolicy } from "../wire/sessions.ts";
export type { AttestationResponse, AttestationStatement } from "../wire/attestation.ts";
