// Replays a dstack event log into RTMR3 (DESIGN "Attestation": the statement's appId and
// composeHash are only worth what the quote's RTMR3 proves). Every runtime event's digest is
// recomputed from its type, name and payload: a digest the log merely states is never trusted.
import { sha384 } from "@noble/hashes/sha2";
import { bytesEqual, concatBytes, fromHex, toHex, utf8 } from "../crypto/encoding.ts";

export interface LogEvent {
  imr: number;
  event_type: number;
  digest: string;
  event: string;
  event_payload: string;
}

export interface ReplayedLog {
  /** RTMR3 as replayed from the recomputed digests (hex). */
  rtmr3: string;
  /** Runtime event name → payload (hex), e.g. "app-id", "compose-hash", "instance-id". */
  payloads: Map<string, string>;
  /** Events whose stated digest is not the digest of their own content. */
  forged: string[];
}

/** The digest dstack extends RTMR3 with: SHA-384(event_type as u32 LE ‖ ":" ‖ name ‖ ":" ‖ payload). */
export function runtimeEventDigest(
  eventType: number,
  name: string,
  payloadHex: string,
): Uint8Array {
  const type = new Uint8Array(4);
  new DataView(type.buffer).setUint32(0, eventType, true);
  return sha384(concatBytes(type, utf8(":"), utf8(name), utf8(":"), fromHex(payloadHex)));
}

export function parseEventLog(text: string): LogEvent[] {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error("the event log is not a JSON array");
  return parsed.map((e, i) => {
    const event = e as Partial<LogEvent>;
    if (
      typeof event.imr !== "number" ||
      typeof event.event_type !== "number" ||
      typeof event.digest !== "string" ||
      typeof event.event !== "string" ||
      typeof event.event_payload !== "string"
    ) {
      throw new Error(`event ${i} does not have imr, event_type, digest, event and event_payload`);
    }
    return event as LogEvent;
  });
}

export function replayRtmr3(events: LogEvent[]): ReplayedLog {
  let mr: Uint8Array = new Uint8Array(48);
  const payloads = new Map<string, string>();
  const forged: string[] = [];
  for (const event of events) {
    if (event.imr !== 3) continue;
    const digest = runtimeEventDigest(event.event_type, event.event, event.event_payload);
    if (!bytesEqual(digest, fromHex(event.digest))) forged.push(event.event);
    mr = sha384(concatBytes(mr, digest));
    payloads.set(event.event, event.event_payload.toLowerCase());
  }
  return { rtmr3: toHex(mr), payloads, forged };
}
