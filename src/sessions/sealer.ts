// The server's sealer for session event lines: native, synchronous envelopes
// (src/crypto/native-envelope.ts), the same bytes as the WebCrypto ones clients open.
import { sealEnvelopeNative } from "../crypto/index.ts";
import { PROTOCOL_VERSION, type EncLine } from "../../sdk/wire/sessions.ts";

export class EventSealer {
  constructor(
    private readonly key: Uint8Array,
    private readonly sessionId: string,
    private readonly kid: string,
  ) {}

  /** The whole `enc` line for one event's JSON. */
  sealLine(seq: number, plaintext: string): string {
    const payload = sealEnvelopeNative(this.key, this.sessionId, seq, this.kid, plaintext);
    const line: EncLine = {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: this.sessionId,
      seq,
      type: "enc",
      payload,
    };
    return JSON.stringify(line);
  }
}
