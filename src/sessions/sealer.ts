// The server's sealer for session event lines: native, synchronous envelopes
// (src/crypto/native-envelope.ts), the same bytes as the WebCrypto ones clients open.
import { sealEnvelopeNative } from "../crypto/native-envelope.ts";
import { PROTOCOL_VERSION } from "../../sdk/wire/sessions.ts";

export class EventSealer {
  constructor(private readonly key: Uint8Array, private readonly sessionId: string, private readonly kid: string) {}

  /** The whole `enc` line for one event's JSON. sessionId and kid are base64url: no escaping needed. */
  sealLine(seq: number, plaintext: string): string {
    const payload = sealEnvelopeNative(this.key, this.sessionId, seq, this.kid, plaintext);
    return `{"protocolVersion":${PROTOCOL_VERSION},"sessionId":"${this.sessionId}","seq":${seq},"type":"enc","payload":{"kid":"${payload.kid}","nonceB64":"${payload.nonceB64}","ciphertextB64":"${payload.ciphertextB64}"}}`;
  }
}
