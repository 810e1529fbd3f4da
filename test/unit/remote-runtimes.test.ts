// The middleware's runtime slots, in process with the real handshake over fake wires: the limits
// (handshake deadline, idle slot cap) and the answer when no runtime is attached.
import { describe, expect, test } from "bun:test";
import { keyId } from "../../sdk/crypto/keys.ts";
import { deriveP256KeyPair } from "../../src/crypto/keys.ts";
import { createLogger } from "../../src/log.ts";
import { RemoteRuntimes } from "../../src/runtime/remote/runtimes.ts";
import { startRuntimeHandshake } from "../../src/runtime/remote/secure-channel.ts";

const middleware = deriveP256KeyPair(new Uint8Array(32).fill(1), "auditor/identity/v1");
const runtime = deriveP256KeyPair(new Uint8Array(32).fill(2), "auditor/runtime/v1");
const log = createLogger("error");

function fakeWire() {
  const sent: string[] = [];
  const wire = {
    sent,
    closed: undefined as { code?: number; reason?: string } | undefined,
    send: (t: string) => void sent.push(t),
    close: (code?: number, reason?: string) => void (wire.closed = { code, reason }),
  };
  return wire;
}

/** Runs the runtime's side of the handshake against one connection of `runtimes`. */
async function attach(runtimes: RemoteRuntimes) {
  const connection = runtimes.connection();
  const wire = fakeWire();
  connection.onOpen(wire);
  const handshake = await startRuntimeHandshake(runtime, [keyId(middleware.publicKey)]);
  await connection.onMessage(new MessageEvent("message", { data: handshake.hello }), wire);
  if (wire.closed) return wire;
  const { auth } = await handshake.finish(wire.sent[0]!, fakeWire());
  await connection.onMessage(new MessageEvent("message", { data: auth }), wire);
  return wire;
}

describe("RemoteRuntimes", () => {
  test("a connection that does not finish the handshake in time is closed", async () => {
    const runtimes = new RemoteRuntimes(middleware, [keyId(runtime.publicKey)], log, {
      maxIdleSlots: 8,
      handshakeTimeoutMs: 30,
    });
    const wire = fakeWire();
    runtimes.connection().onOpen(wire);
    await Bun.sleep(60);
    expect(wire.closed).toMatchObject({ code: 1008, reason: "no handshake within 30 ms" });
  });

  test("idle slots are capped: one more is refused", async () => {
    const runtimes = new RemoteRuntimes(middleware, [keyId(runtime.publicKey)], log, {
      maxIdleSlots: 2,
      handshakeTimeoutMs: 1_000,
    });
    expect((await attach(runtimes)).closed).toBeUndefined();
    expect((await attach(runtimes)).closed).toBeUndefined();
    expect(runtimes.idleSlots).toBe(2);
    expect((await attach(runtimes)).closed).toMatchObject({
      code: 1008,
      reason: "already 2 idle runtime slots",
    });
    expect(runtimes.idleSlots).toBe(2);
  });

  test("a hello whose runtime key is another base64url spelling of the pinned key is refused", async () => {
    const runtimes = new RemoteRuntimes(middleware, [keyId(runtime.publicKey)], log, {
      maxIdleSlots: 8,
      handshakeTimeoutMs: 1_000,
    });
    const connection = runtimes.connection();
    const wire = fakeWire();
    connection.onOpen(wire);
    const hello = JSON.parse(
      (await startRuntimeHandshake(runtime, [keyId(middleware.publicKey)])).hello,
    );
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    hello.runtimeKey =
      hello.runtimeKey.slice(0, -1) + alphabet[alphabet.indexOf(hello.runtimeKey.at(-1)) ^ 1];
    await connection.onMessage(new MessageEvent("message", { data: JSON.stringify(hello) }), wire);
    expect(wire.closed?.code).toBe(1008);
    expect(wire.sent).toEqual([]);
    expect(runtimes.idleSlots).toBe(0);
  });

  test("with no runtime attached, a run ends at once with runtime_unavailable", async () => {
    const runtimes = new RemoteRuntimes(middleware, [keyId(runtime.publicKey)], log);
    expect(await runtimes.run("return 1")).toMatchObject({
      ok: false,
      error: { code: "runtime_unavailable" },
    });
  });
});
