// Envelope receivers (the SDK's side of the stream): exactly the next seq, the right kid and
// key, an intact tag, an inner seq equal to the outer; every refusal is the same DecryptError.
import { describe, expect, test } from "bun:test";
import { DecryptError } from "../../sdk/crypto/aes-gcm.ts";
import {
  envelopeAad,
  envelopeNonce,
  openEnvelope,
  sealEnvelope,
} from "../../sdk/crypto/envelope.ts";
import { fromBase64, toBase64, toHex } from "../../sdk/crypto/encoding.ts";
import { EventSealer } from "../../src/sessions/sealer.ts";
import { openEnvelopeNative, sealEnvelopeNative } from "../../src/crypto/native-envelope.ts";

const key = crypto.getRandomValues(new Uint8Array(32));
const other = crypto.getRandomValues(new Uint8Array(32));
const SID = "ses_test";
const KID = "kid_0123456789ab";
const event = (seq: number) =>
  JSON.stringify({
    protocolVersion: 1,
    sessionId: SID,
    seq,
    type: "stdout",
    payload: { chunk: "hi" },
  });

describe("envelopes", () => {
  test("nonce is 4 zero bytes ‖ seq (8-byte big-endian); AAD names session, seq and kid", () => {
    expect(toHex(envelopeNonce(1))).toBe("000000000000000000000001");
    expect(toHex(envelopeNonce(2 ** 40 + 5))).toBe("000000000000010000000005");
    expect(new TextDecoder().decode(envelopeAad(SID, 7, KID))).toBe(`auditor/v1|${SID}|7|${KID}`);
    expect(() => envelopeNonce(0)).toThrow();
  });

  test("the server's native sealer writes exactly the bytes of the WebCrypto envelope", async () => {
    const sealer = new EventSealer(key, SID, KID);
    for (const seq of [1, 2, 255, 2 ** 33]) {
      const line = JSON.parse(sealer.sealLine(seq, event(seq)));
      expect(line).toEqual({
        protocolVersion: 1,
        sessionId: SID,
        seq,
        type: "enc",
        payload: await sealEnvelope(key, SID, seq, KID, event(seq)),
      });
      expect(await openEnvelope(key, SID, seq, KID, line.payload)).toMatchObject({ seq });
    }
  });

  test("native envelopes (server side) are the same bytes, and open and refuse exactly as WebCrypto ones", async () => {
    const sealed = await sealEnvelope(key, SID, 4, KID, event(4));
    expect(sealEnvelopeNative(key, SID, 4, KID, event(4))).toEqual(sealed);
    expect(openEnvelopeNative(key, SID, 4, KID, sealed)).toMatchObject({ seq: 4 });
    const ct = fromBase64(sealed.ciphertextB64);
    ct[0]! ^= 1;
    for (const attempt of [
      () => openEnvelopeNative(key, SID, 4, KID, { ...sealed, ciphertextB64: toBase64(ct) }),
      () => openEnvelopeNative(other, SID, 4, KID, sealed),
      () => openEnvelopeNative(key, SID, 5, KID, sealed),
      () => openEnvelopeNative(key, SID, 4, "another-kid-0000", sealed),
      () => openEnvelopeNative(key, SID, 4, KID, sealEnvelopeNative(key, SID, 4, KID, event(5))),
    ])
      expect(attempt).toThrow(DecryptError);
  });

  test("round trip", async () => {
    const payload = await sealEnvelope(key, SID, 3, KID, event(3));
    expect(await openEnvelope(key, SID, 3, KID, payload)).toMatchObject({ seq: 3, type: "stdout" });
  });

  test.each([
    [
      "a flipped ciphertext byte",
      async () => {
        const p = await sealEnvelope(key, SID, 1, KID, event(1));
        const ct = fromBase64(p.ciphertextB64);
        ct[ct.length - 1]! ^= 0x80;
        return openEnvelope(key, SID, 1, KID, { ...p, ciphertextB64: toBase64(ct) });
      },
    ],
    [
      "the wrong key",
      async () => openEnvelope(other, SID, 1, KID, await sealEnvelope(key, SID, 1, KID, event(1))),
    ],
    [
      "a wrong kid",
      async () =>
        openEnvelope(key, SID, 1, KID, {
          ...(await sealEnvelope(key, SID, 1, KID, event(1))),
          kid: "someone-else-kid",
        }),
    ],
    [
      "a skipped seq",
      async () => openEnvelope(key, SID, 1, KID, await sealEnvelope(key, SID, 2, KID, event(2))),
    ],
    [
      "a replayed earlier seq",
      async () => openEnvelope(key, SID, 2, KID, await sealEnvelope(key, SID, 1, KID, event(1))),
    ],
    [
      "another session's envelope",
      async () =>
        openEnvelope(key, SID, 1, KID, await sealEnvelope(key, "ses_other", 1, KID, event(1))),
    ],
    [
      "an inner seq that differs from the outer",
      async () => openEnvelope(key, SID, 1, KID, await sealEnvelope(key, SID, 1, KID, event(9))),
    ],
    [
      "a nonce that does not match the seq",
      async () =>
        openEnvelope(key, SID, 1, KID, {
          ...(await sealEnvelope(key, SID, 1, KID, event(1))),
          nonceB64: toBase64(envelopeNonce(2)),
        }),
    ],
    [
      "garbage base64",
      async () =>
        openEnvelope(key, SID, 1, KID, {
          ...(await sealEnvelope(key, SID, 1, KID, event(1))),
          ciphertextB64: "%%%",
        }),
    ],
    [
      "a plaintext that is not JSON",
      async () => openEnvelope(key, SID, 1, KID, await sealEnvelope(key, SID, 1, KID, "not json")),
    ],
  ])("refuses %s with the uniform DecryptError", async (_, attempt) => {
    const error = await (attempt as () => Promise<unknown>)().then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(DecryptError);
    expect((error as Error).message).toBe("the message could not be decrypted");
  });
});
