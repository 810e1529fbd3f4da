export { runAsCaller, currentCaller, type EgressCaller } from "./context.ts";
export { EgressLog, type EgressEntry, type HostStats, type LogHead } from "./log.ts";
export { logEgressEntries } from "./log-lines.ts";
export {
  createAuditedFetch,
  installAuditedFetch,
  hostOf,
  originOf,
  EgressBlockedError,
  EgressResponseTooLargeError,
  MAX_EGRESS_RESPONSE_BYTES,
} from "./audited-fetch.ts";
export {
  installChannelGuards,
  socketDestination,
  type ChannelAllowance,
  type InstalledGuards,
} from "./channel-guard.ts";
export {
  channelAllowances,
  describeChannels,
  peerAllowance,
  type ChannelDescription,
  type ChannelSettings,
} from "./channels.ts";
