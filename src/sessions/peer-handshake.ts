// The handshake of the instance-to-instance channel (K_peer). Instances of one dstack app derive
// the same identity key, so a peer proves it runs this app's measured binary by proving it holds
// that key: each end signs the transcript under its own role label, and a peer that names
// another identity key (another app, a dev instance with its own data dir) is refused before
// any key is agreed. Then both ends seal every frame (SecureChannel, kid K_peer) with keys from
// an ephemeral ECDH bound to the transcript. Byte layout: docs/protocol.md "Peer channel".
import { bytesEqual, fromBase64Url, toBase64Url } from "../../sdk/crypto/encoding.ts";
import { derivePeerKeys, peerSignedMessage, peerTranscript } from "../../sdk/crypto/handshake.ts";
import { keyId } from "../../sdk/crypto/keys.ts";
import {
  agreeEphemeral,
  deriveSharedX,
  validatePublicKey,
  verifyP256,
} from "../../sdk/crypto/p256.ts";
import { signP256, type P256KeyPair } from "../crypto/index.ts";
import { SecureChannel, type Wire } from "../runtime/remote/secure-channel.ts";
import {
  MAX_HANDSHAKE_CHARS,
  PeerAuthSchema,
  PeerHelloSchema,
  PeerWelcomeSchema,
} from "./peer-wire.ts";

const PEER_KID = "K_peer";

/** Why a handshake was refused; the message names the reason, never key material. */
class PeerRefusedError extends Error {
  override name = "PeerRefusedError";
}

function parse<T>(schema: { parse: (v: unknown) => T }, text: string, what: string): T {
  if (text.length > MAX_HANDSHAKE_CHARS)
    throw new PeerRefusedError(`the ${what} is over ${MAX_HANDSHAKE_CHARS} characters`);
  try {
    return schema.parse(JSON.parse(text));
  } catch {
    throw new PeerRefusedError(`the ${what} is malformed`);
  }
}

/** The peer must name our own identity key: it is what instances of this app share. */
function sameIdentity(claimed: string, identity: P256KeyPair): Uint8Array {
  const key = fromBase64Url(claimed);
  if (!bytesEqual(key, identity.publicKey)) {
    throw new PeerRefusedError(
      `the peer holds another identity key (kid ${keyId(key)}), so it is not an instance of this app`,
    );
  }
  return key;
}

function ephemeralOf(text: string): Uint8Array {
  try {
    return validatePublicKey(fromBase64Url(text));
  } catch {
    throw new PeerRefusedError("the peer's ephemeral key is not a valid P-256 point");
  }
}

interface DialedPeer {
  /** The frame to send once the welcome checked out. */
  auth: string;
  channel: SecureChannel;
  peerInstanceId: string;
}

/** Dialer side, step 1: the hello, and how to finish once the welcome arrives. */
export async function startPeerHandshake(identity: P256KeyPair, instanceId: string) {
  const channelId = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  const ephemeral = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const ours = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
  return {
    hello: JSON.stringify({
      type: "hello",
      channelId,
      instanceId,
      identityKey: toBase64Url(identity.publicKey),
      ephemeral: toBase64Url(ours),
    }),
    async finish(welcomeText: string, wire: Wire): Promise<DialedPeer> {
      const welcome = parse(PeerWelcomeSchema, welcomeText, "welcome");
      sameIdentity(welcome.identityKey, identity);
      const theirs = ephemeralOf(welcome.ephemeral);
      const th = peerTranscript(
        channelId,
        instanceId,
        welcome.instanceId,
        identity.publicKey,
        ours,
        theirs,
      );
      if (
        !(await verifyP256(
          fromBase64Url(welcome.signature),
          peerSignedMessage("listener", th),
          identity.publicKey,
        ))
      ) {
        throw new PeerRefusedError("the peer's welcome is not signed by this app's identity key");
      }
      const keys = derivePeerKeys(await deriveSharedX(ephemeral.privateKey, theirs), th);
      return {
        auth: JSON.stringify({
          type: "auth",
          signature: toBase64Url(signP256(peerSignedMessage("dialer", th), identity.privateKey)),
        }),
        channel: new SecureChannel(
          wire,
          channelId,
          keys.d2l,
          keys.l2d,
          keyId(identity.publicKey),
          PEER_KID,
        ),
        peerInstanceId: welcome.instanceId,
      };
    },
  };
}

/** Listener side: answers a hello from a peer that names our identity key; `finish` checks its auth. */
export async function answerPeerHello(
  helloText: string,
  identity: P256KeyPair,
  instanceId: string,
) {
  const hello = parse(PeerHelloSchema, helloText, "hello");
  sameIdentity(hello.identityKey, identity);
  const theirs = ephemeralOf(hello.ephemeral);
  const ours = await agreeEphemeral(theirs);
  const th = peerTranscript(
    hello.channelId,
    hello.instanceId,
    instanceId,
    identity.publicKey,
    theirs,
    ours.publicKey,
  );
  const keys = derivePeerKeys(ours.sharedX, th);
  return {
    peerInstanceId: hello.instanceId,
    welcome: JSON.stringify({
      type: "welcome",
      instanceId,
      identityKey: toBase64Url(identity.publicKey),
      ephemeral: toBase64Url(ours.publicKey),
      signature: toBase64Url(signP256(peerSignedMessage("listener", th), identity.privateKey)),
    }),
    async finish(authText: string, wire: Wire): Promise<SecureChannel> {
      const auth = parse(PeerAuthSchema, authText, "auth");
      if (
        !(await verifyP256(
          fromBase64Url(auth.signature),
          peerSignedMessage("dialer", th),
          identity.publicKey,
        ))
      ) {
        throw new PeerRefusedError("the peer's auth is not signed by this app's identity key");
      }
      return new SecureChannel(
        wire,
        hello.channelId,
        keys.l2d,
        keys.d2l,
        keyId(identity.publicKey),
        PEER_KID,
      );
    },
  };
}
