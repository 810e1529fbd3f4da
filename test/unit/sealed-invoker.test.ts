// The sealed-invoke replay memory: bounded, and forgets an epk only after the ts window.
import { describe, expect, test } from "bun:test";
import { keyId } from "../../sdk/crypto/keys.ts";
import { deriveP256KeyPair } from "../../src/crypto/keys.ts";
import { SealedInvoker } from "../../src/functions/sealed-invoke.ts";
import { sealInvoke } from "../helpers/spec-client.ts";
import { toBase64Url } from "../../sdk/crypto/encoding.ts";

const invokeKey = deriveP256KeyPair(new Uint8Array(32).fill(7), "auditor/invoke/v1");
const kid = keyId(invokeKey.publicKey);

describe("SealedInvoker replay memory", () => {
  test("full memory is a 503, and entries expire after twice the window", async () => {
    let now = 1_000_000;
    const invoker = new SealedInvoker(invokeKey, kid, 2, () => now);
    const req = () => sealInvoke("f", 1, toBase64Url(invokeKey.publicKey), kid, now);
    expect(await invoker.open("f", (await req()).body)).toHaveProperty("seal");
    expect(await invoker.open("f", (await req()).body)).toHaveProperty("seal");
    expect(await invoker.open("f", (await req()).body)).toMatchObject({
      status: 503,
      error: "busy",
    });
    now += 120_001;
    const fresh = await req();
    expect(await invoker.open("f", fresh.body)).toHaveProperty("seal"); // the old two were forgotten
    expect(await invoker.open("f", fresh.body)).toMatchObject({ status: 409, error: "replayed" });
  });
});
