// The instance-to-instance channel's messages (docs/protocol.md "Peer channel"), one zod
// definition for both ends: the three handshake frames in the clear, then the messages that
// travel sealed (K_peer) and carry forwarded session requests and their responses. Each end
// parses what arrives; a message outside this contract closes the channel.
import { z } from "zod";
import { z as zm } from "zod/mini";
import { CanonicalBase64Url } from "../../sdk/wire/attestation.ts";

/** A handshake frame is a few hundred bytes: anything much larger is refused unparsed. */
export const MAX_HANDSHAKE_CHARS = 2_048;
/** Request targets are session paths with at most a fromSeq query. */
const MAX_PATH_CHARS = 2_048;
/** A forwarded body is at most a session control body (512 KiB), base64 here. */
const MAX_BODY_B64_CHARS = Math.ceil((512 * 1024) / 3) * 4;

/** What may be forwarded: the session requests of docs/protocol.md, nothing else. */
const FORWARDED_PATH =
  /^\/(sessions\/ses_[A-Za-z0-9_-]{22}(\/(stream|input|cancel))?|refs\/resolve)(\?[^#]*)?$/;

/** Response headers that mean something to a session client; no other crosses. */
export const FORWARDED_RESPONSE_HEADERS = [
  "content-type",
  "cache-control",
  "retry-after",
  "x-accel-buffering",
] as const;

export const InstanceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, "an instance id is 8 to 64 base64url characters");
const Key = CanonicalBase64Url.check(zm.minLength(1), zm.maxLength(200));
const Id = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const PeerHelloSchema = z
  .object({
    type: z.literal("hello"),
    channelId: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    instanceId: InstanceIdSchema,
    identityKey: Key,
    ephemeral: Key,
  })
  .strict();
export const PeerWelcomeSchema = z
  .object({
    type: z.literal("welcome"),
    instanceId: InstanceIdSchema,
    identityKey: Key,
    ephemeral: Key,
    signature: Key,
  })
  .strict();
export const PeerAuthSchema = z.object({ type: z.literal("auth"), signature: Key }).strict();

/** Dialer (the instance a client reached) → listener (the session's owner). */
export const DialerMessageSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("request"),
      id: Id,
      method: z.enum(["GET", "POST"]),
      path: z
        .string()
        .max(MAX_PATH_CHARS)
        .regex(FORWARDED_PATH, "only a session's state, stream, input, cancel or refs/resolve"),
      headers: z
        .object({
          authorization: z.string().max(4_096).optional(),
          "content-type": z.string().max(256).optional(),
        })
        .strict(),
      body: z.string().max(MAX_BODY_B64_CHARS).nullable(),
    })
    .strict(),
  /** The client went away: stop producing the response. */
  z.object({ type: z.literal("cancel"), id: Id }).strict(),
  z.object({ type: z.literal("ping") }).strict(),
]);

/** Listener → dialer. */
export const ListenerMessageSchema = z.discriminatedUnion("type", [
  /** The dialer's auth checked out: requests may follow. */
  z.object({ type: z.literal("ready") }).strict(),
  z
    .object({
      type: z.literal("response"),
      id: Id,
      status: z.number().int().min(100).max(599),
      headers: z.partialRecord(z.enum(FORWARDED_RESPONSE_HEADERS), z.string().max(1_024)),
    })
    .strict(),
  /** Standard base64 of the next bytes of the body, in order. */
  z.object({ type: z.literal("body"), id: Id, chunk: z.string() }).strict(),
  z.object({ type: z.literal("end"), id: Id }).strict(),
  /** The owner could not produce (or finish) the response. */
  z.object({ type: z.literal("failed"), id: Id, message: z.string().max(200) }).strict(),
  z.object({ type: z.literal("pong") }).strict(),
]);

export type PeerRequest = Extract<z.infer<typeof DialerMessageSchema>, { type: "request" }>;
