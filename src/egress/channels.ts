// The network channels of the server process, in one table: what the channel guard allows
// (channel-guard.ts) and what the report lists as destinations (docs/protocol.md "Channels").
// With a shared store, sessions span instances: the directory lives in that store, and the
// peer channel (a WebSocket to another instance of this app) is admitted per peer while
// running, since peers come and go (src/sessions/peer-dialer.ts).
// Function egress is the audited fetch and is described by the egress policy; everything here
// is the rest, each with where it goes and what it carries.
import { socketDestination, type ChannelAllowance } from "./channel-guard.ts";
import { DIRECTORY_RENEW_MS, DIRECTORY_TTL_MS } from "../sessions/directory.ts";

/** The peer channel's name, for the guard's admissions and the report. */
const PEER_CHANNEL = "peer-instances";

/** The guard's allowance for one peer's WebSocket. */
export function peerAllowance(url: URL): ChannelAllowance {
  const port = url.port || (url.protocol === "wss:" ? 443 : 80);
  return {
    channel: PEER_CHANNEL,
    via: "websocket",
    destination: socketDestination(url.hostname, port),
  };
}

export interface ChannelDescription {
  name: string;
  direction: "inbound" | "outbound";
  /** Where it goes (no credentials), or null when this instance does not use it. */
  destination: string | null;
  carries: string;
  /** The operator setting that chose the destination, if any. */
  setBy: string | null;
}

export interface ChannelSettings {
  /** The TEE provider in use (known once the TEE started). */
  tee: "dstack" | "dev";
  /** The guest agent: a unix socket path or an http(s) URL. */
  dstackEndpoint: string;
  stateUrl?: string;
  host: string;
  port: number;
  extractedRuntimes: boolean;
}

const defaultPort = (url: URL) =>
  url.port ||
  ({ "https:": 443, "http:": 80, "redis:": 6379, "rediss:": 6379 } as Record<string, number>)[
    url.protocol
  ] ||
  5432;

/** What the channel guard lets through: the guest agent, the state store, one listener. */
export function channelAllowances(
  settings: Omit<ChannelSettings, "tee" | "extractedRuntimes">,
): ChannelAllowance[] {
  const allow: ChannelAllowance[] = [
    {
      channel: "http-listener",
      via: "serve",
      destination: socketDestination(settings.host, settings.port),
      once: true,
    },
  ];
  const agent = settings.dstackEndpoint;
  if (/^https?:\/\//i.test(agent)) {
    const url = new URL(agent);
    allow.push({
      channel: "dstack-guest-agent",
      via: "socket",
      destination: socketDestination(url.hostname, defaultPort(url)),
    });
  } else {
    allow.push({ channel: "dstack-guest-agent", via: "socket", destination: `unix:${agent}` });
  }
  if (settings.stateUrl) {
    const url = new URL(settings.stateUrl);
    const via = url.protocol.startsWith("redis") ? "redis" : "sql";
    allow.push({
      channel: "state-store",
      via,
      destination: socketDestination(url.hostname, defaultPort(url)),
    });
  }
  return allow;
}

/** Every channel other than function egress, as the report lists it. */
export function describeChannels(settings: ChannelSettings): ChannelDescription[] {
  const agent = settings.dstackEndpoint;
  const store = settings.stateUrl ? new URL(settings.stateUrl) : undefined;
  return [
    {
      name: "http-listener",
      direction: "inbound",
      destination: `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${settings.port}`,
      carries:
        "the public API (functions, reports, attestation, sessions), the VJ page and the SDK" +
        (settings.extractedRuntimes
          ? "; extracted runtimes' WebSockets at /runtime/attach (sealed: code, limits, events, tool calls and results)"
          : "") +
        (store
          ? "; other instances' peer channels at /peer/attach (sealed under K_peer: their clients' requests for sessions held here, and the answers)"
          : ""),
      setBy: "HOST, PORT",
    },
    {
      name: "dstack-guest-agent",
      direction: "outbound",
      destination:
        settings.tee === "dstack"
          ? /^https?:\/\//i.test(agent)
            ? new URL(agent).origin
            : `unix:${agent}`
          : null,
      carries:
        "requests for derived keys (GetKey with the auditor/identity|invoke|sealing/v1 paths), quotes over 64 bytes of report data (GetQuote) and Info; answers: key material, TDX quotes, the event log",
      setBy:
        settings.tee === "dstack"
          ? "DSTACK_SIMULATOR_ENDPOINT (default /var/run/dstack.sock)"
          : null,
    },
    {
      name: "state-store",
      direction: "outbound",
      destination: store ? `${store.protocol}//${store.host}` : null,
      carries:
        "sealed state: AES-256-GCM ciphertext, HMAC-SHA256-hashed record names and expiry times (never a key or plaintext)",
      setBy: store ? "AUDITOR_STATE_URL" : null,
    },
    {
      name: "session-directory",
      direction: "outbound",
      destination: store ? `${store.protocol}//${store.host}` : null,
      carries: `for each session held here: its id HMAC-SHA256-hashed (as state names are) → a sealed owner record (this instance's random id and AUDITOR_INSTANCE_URL), expiring ${DIRECTORY_TTL_MS / 1000} s after its last renewal (every ${DIRECTORY_RENEW_MS / 1000} s); nothing else about the session`,
      setBy: store ? "AUDITOR_STATE_URL" : null,
    },
    {
      name: PEER_CHANNEL,
      direction: "outbound",
      destination: store
        ? "ws(s)://<peer>/peer/attach, where <peer> is the AUDITOR_INSTANCE_URL in a session's sealed directory record (another instance of this app)"
        : null,
      carries:
        "requests for sessions another instance holds (method, path and query, the Authorization and Content-Type headers, body) and their answers (status, content-type, cache-control, retry-after, x-accel-buffering, body; NDJSON as it arrives), sealed under K_peer: both ends prove they hold this app's identity key; an encrypted session's envelopes and sealed replies pass unopened",
      setBy: store ? "AUDITOR_INSTANCE_URL (each instance its own)" : null,
    },
  ];
}
