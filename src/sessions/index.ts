// Sessions, for the rest of the server: the manager and its sessions, their channels (plaintext
// or encrypted), the tools every session has, and the directory and peer channel that let
// instances sharing a store reach each other's sessions.
export {
  CallerLimitError,
  CapacityError,
  DEFAULT_SESSION_SERVER_LIMITS,
  SessionManager,
  type SessionServerLimits,
} from "./manager.ts";
export { newSessionId, type Session } from "./session.ts";
export {
  ControlViolation,
  EncryptedChannel,
  PlainChannel,
  type SessionChannel,
} from "./channel.ts";
export { demoTools } from "./demo-tools.ts";
export { INPUT_TOOL, ToolAnswerError } from "./tool-calls.ts";
export { DIRECTORY_RENEW_MS, DIRECTORY_TTL_MS, SessionDirectory } from "./directory.ts";
export { PeerDialer } from "./peer-dialer.ts";
export { PeerListener } from "./peer-listener.ts";
