// The instance-to-instance channel over real WebSockets on loopback, in process: the dialer
// (src/sessions/peer-dialer.ts) against the listener (src/sessions/peer-listener.ts) mounted
// the way the server mounts it. Forwarded answers come back unchanged and as they are made,
// one channel carries many requests, and every way in without this app's identity key is
// refused: another key on either side, a replayed auth, a forged welcome, oversized or late
// handshakes, tampered frames; a peer that fails is marked down and answered for at once.
import { afterAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { upgradeWebSocket, websocket } from "hono/bun";
import { fromBase64Url, toBase64Url } from "../../sdk/crypto/encoding.ts";
import { deriveP256KeyPair } from "../../src/crypto/keys.ts";
import { createLogger } from "../../src/log.ts";
import { answerPeerHello, startPeerHandshake } from "../../src/sessions/peer-handshake.ts";
import {
  DEFAULT_PEER_TIMING,
  PeerDialer,
  type ForwardRequest,
  type PeerTiming,
} from "../../src/sessions/peer-dialer.ts";
import { PeerListener, type PeerRequestHandler } from "../../src/sessions/peer-listener.ts";

const appKey = deriveP256KeyPair(new Uint8Array(32).fill(7), "auditor/identity/v1");
const otherKey = deriveP256KeyPair(new Uint8Array(32).fill(8), "auditor/identity/v1");
const servers: { stop(force?: boolean): void }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

function logger() {
  const lines: Record<string, any>[] = [];
  return { lines, log: createLogger("debug", (line) => void lines.push(JSON.parse(line))) };
}

/** A listener as the server mounts it, answering with `handle`. */
function startListener(handle: PeerRequestHandler, identity = appKey, handshakeTimeoutMs?: number) {
  const { lines, log } = logger();
  const listener = new PeerListener(identity, "ins_listener01", log, handshakeTimeoutMs);
  const app = new Hono().get(
    "/peer/attach",
    upgradeWebSocket(() => {
      const connection = listener.connection(handle);
      return {
        onOpen: (_e, ws) => connection.onOpen(ws),
        onMessage: (e, ws) => void connection.onMessage(e as MessageEvent, ws),
        onClose: () => connection.onClose(),
      };
    }),
  );
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, websocket });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}`, listener, lines };
}

function dialer(identity = appKey, timing: Partial<PeerTiming> = {}) {
  const { lines, log } = logger();
  const admitted: string[] = [];
  const peers = new PeerDialer(
    identity,
    "ins_dialer0001",
    log,
    (url) => void admitted.push(url.href),
    { ...DEFAULT_PEER_TIMING, ...timing },
  );
  return { peers, lines, admitted };
}

const SID = "ses_aaaaaaaaaaaaaaaaaaaaaa";
const sid = (n: number) => `ses_${String(n).padStart(22, "0")}`;
const get = (path: string, authorization?: string): ForwardRequest => ({
  method: "GET",
  path,
  headers: authorization ? { authorization } : {},
  body: null,
});

/** A raw WebSocket client: every frame it receives, and how it was closed. */
async function rawSocket(url: string) {
  const socket = new WebSocket(url.replace(/^http/, "ws") + "/peer/attach");
  const frames: string[] = [];
  const waiters: (() => void)[] = [];
  const closed = new Promise<{ code: number; reason: string }>(
    (resolve) => (socket.onclose = (e) => resolve({ code: e.code, reason: e.reason })),
  );
  socket.onmessage = (e) => {
    frames.push(String(e.data));
    for (const w of waiters.splice(0)) w();
  };
  await new Promise((resolve) => (socket.onopen = resolve));
  const next = async () => {
    while (frames.length === 0)
      await Promise.race([new Promise<void>((r) => waiters.push(r)), closed]).then(() => undefined);
    return frames.shift()!;
  };
  return { socket, frames, closed, next };
}

describe("the peer channel", () => {
  test("a forwarded request comes back unchanged: status, the headers that matter, the body", async () => {
    const seen: { method: string; path: string; authorization: string | null; body: string }[] = [];
    const { url } = startListener(async (request) => {
      seen.push({
        method: request.method,
        path: new URL(request.url).pathname + new URL(request.url).search,
        authorization: request.headers.get("authorization"),
        body: await request.text(),
      });
      return new Response(JSON.stringify({ error: "conflict" }), {
        status: 409,
        headers: {
          "content-type": "application/json",
          "retry-after": "3",
          "set-cookie": "x=1",
          "x-other": "y",
        },
      });
    });
    const { peers, admitted } = dialer();
    const reply = await peers.forward(
      { instanceId: "ins_listener01", url },
      {
        method: "POST",
        path: `/sessions/${SID}/input?a=1`,
        headers: { authorization: "Bearer tok", "content-type": "application/json" },
        body: new TextEncoder().encode('{"callId":"c","value":1}'),
      },
    );
    if (!reply.ok) throw new Error(reply.reason);
    expect(reply.status).toBe(409);
    expect(reply.headers).toEqual({ "content-type": "application/json", "retry-after": "3" });
    expect(await new Response(reply.body).text()).toBe('{"error":"conflict"}');
    expect(seen).toEqual([
      {
        method: "POST",
        path: `/sessions/${SID}/input?a=1`,
        authorization: "Bearer tok",
        body: '{"callId":"c","value":1}',
      },
    ]);
    // The channel guard was asked to admit exactly the peer's WebSocket.
    expect(admitted).toEqual([`${url.replace("http", "ws")}/peer/attach`]);
  });

  test("a stream arrives as it is produced, and the client leaving cancels it at the owner", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let cancelled!: () => void;
    const cancelledAtOwner = new Promise<void>((resolve) => (cancelled = resolve));
    const { url } = startListener(async () => {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(
            new TextEncoder().encode(
              '{"seq":1,"type":"session_init","sessionId":"s","payload":{}}\n',
            ),
          );
          await released;
          controller.enqueue(
            new TextEncoder().encode('{"seq":2,"type":"heartbeat","sessionId":"s","payload":{}}\n'),
          );
        },
        cancel: () => cancelled(),
      });
      return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
    });
    const { peers } = dialer();
    const reply = await peers.forward(
      { instanceId: "ins_listener01", url },
      get(`/sessions/${SID}/stream?fromSeq=1`),
    );
    if (!reply.ok) throw new Error(reply.reason);
    const reader = reply.body.getReader();
    // The first line is here while the owner is still holding the second back.
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"seq":1');
    release();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"seq":2');
    await reader.cancel();
    await cancelledAtOwner;
  });

  test("one channel carries many requests at once", async () => {
    const { url, listener } = startListener(async (request) =>
      Response.json({ path: new URL(request.url).pathname }),
    );
    const { peers } = dialer();
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        peers.forward({ instanceId: "ins_listener01", url }, get(`/sessions/${sid(i)}`)),
      ),
    );
    const bodies = await Promise.all(
      replies.map((r) => (r.ok ? new Response(r.body).json() : r.reason)),
    );
    expect(bodies).toEqual(Array.from({ length: 50 }, (_, i) => ({ path: `/sessions/${sid(i)}` })));
    expect(listener.openChannels).toBe(1);
  });

  test("a peer with another identity key is refused by the listener, and marked down by the dialer", async () => {
    let reached = false;
    const { url, lines } = startListener(async () => ((reached = true), new Response("no")));
    const { peers, lines: dialerLines } = dialer(otherKey);
    const reply = await peers.forward(
      { instanceId: "ins_listener01", url },
      get(`/sessions/${SID}`),
    );
    expect(reply).toMatchObject({ ok: false });
    expect(reached).toBe(false);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "refused a peer",
        reason: expect.stringContaining("another identity key"),
      }),
    );
    expect(dialerLines).toContainEqual(expect.objectContaining({ msg: "marked a peer down" }));
    // Marked down: the next request is answered at once, without dialing again.
    expect(
      await peers.forward({ instanceId: "ins_listener01", url }, get(`/sessions/${SID}`)),
    ).toEqual({ ok: false, reason: "the owner is marked down after a failure" });
    expect(peers.isDown(url)).toBe(true);
  });

  test("a listener with another identity key is refused by the dialer", async () => {
    // An impostor that answers any hello with a welcome made with its own key.
    const hostile = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, server) =>
        server.upgrade(req) ? undefined : new Response("no", { status: 400 }),
      websocket: {
        async message(ws, text) {
          const hello = JSON.parse(String(text));
          hello.identityKey = toBase64Url(otherKey.publicKey);
          const answer = await answerPeerHello(JSON.stringify(hello), otherKey, "ins_impostor01");
          ws.send(answer.welcome);
        },
      },
    });
    servers.push(hostile);
    const { peers, lines } = dialer();
    const reply = await peers.forward(
      { instanceId: "ins_x00000001", url: `http://127.0.0.1:${hostile.port}` },
      get(`/sessions/${SID}`),
    );
    expect(reply).toMatchObject({
      ok: false,
      reason: expect.stringContaining("another identity key"),
    });
    expect(lines).toContainEqual(expect.objectContaining({ msg: "refused a peer" }));
  });

  test("a welcome that names our key without being signed by it is refused", async () => {
    const forger = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, server) =>
        server.upgrade(req) ? undefined : new Response("no", { status: 400 }),
      websocket: {
        async message(ws, text) {
          // Signed by another key, but claiming the app's identity key.
          const answer = JSON.parse(
            (
              await answerPeerHello(
                String(text).replace(
                  toBase64Url(appKey.publicKey),
                  toBase64Url(otherKey.publicKey),
                ),
                otherKey,
                "ins_forger0001",
              )
            ).welcome,
          );
          ws.send(JSON.stringify({ ...answer, identityKey: toBase64Url(appKey.publicKey) }));
        },
      },
    });
    servers.push(forger);
    const { peers } = dialer();
    const reply = await peers.forward(
      { instanceId: "ins_x00000001", url: `http://127.0.0.1:${forger.port}` },
      get(`/sessions/${SID}`),
    );
    expect(reply).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not signed by this app's identity key"),
    });
  });

  test("an auth recorded from one connection does not open another", async () => {
    let reached = false;
    const { url, lines } = startListener(async () => ((reached = true), new Response("no")));
    const first = await rawSocket(url);
    const handshake = await startPeerHandshake(appKey, "ins_dialer0001");
    first.socket.send(handshake.hello);
    const { auth } = await handshake.finish(await first.next(), {
      send: () => {},
      close: () => {},
    });
    first.socket.close();
    // The same hello again: the listener's fresh ephemeral makes a new transcript.
    const second = await rawSocket(url);
    second.socket.send(handshake.hello);
    await second.next();
    second.socket.send(auth);
    expect((await second.closed).code).toBe(1008);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "refused a peer",
        reason: "the peer's auth is not signed by this app's identity key",
      }),
    );
    expect(reached).toBe(false);
  });

  test("a hello that is oversized or malformed is refused unparsed, with nothing sent back", async () => {
    const { url, lines } = startListener(async () => new Response("no"));
    for (const hello of [
      "x".repeat(100_000),
      "{}",
      JSON.stringify({
        type: "hello",
        channelId: "short",
        instanceId: "ins_a0000000",
        identityKey: toBase64Url(appKey.publicKey),
        ephemeral: toBase64Url(appKey.publicKey),
      }),
    ]) {
      const socket = await rawSocket(url);
      socket.socket.send(hello);
      expect((await socket.closed).code).toBe(1008);
      expect(socket.frames).toEqual([]);
    }
    expect(lines.filter((l) => l.msg === "refused a peer").map((l) => l.reason)).toEqual([
      "the hello is over 2048 characters",
      "the hello is malformed",
      "the hello is malformed",
    ]);
  });

  test("an ephemeral key that is not a P-256 point is refused", async () => {
    const { url, lines } = startListener(async () => new Response("no"));
    const hello = JSON.parse((await startPeerHandshake(appKey, "ins_dialer0001")).hello);
    const bad = fromBase64Url(hello.ephemeral);
    bad[64] = bad[64]! ^ 1;
    const socket = await rawSocket(url);
    socket.socket.send(JSON.stringify({ ...hello, ephemeral: toBase64Url(bad) }));
    expect((await socket.closed).code).toBe(1008);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "refused a peer",
        reason: "the peer's ephemeral key is not a valid P-256 point",
      }),
    );
  });

  test("a connection that does not finish the handshake in time is closed", async () => {
    const { url } = startListener(async () => new Response("no"), appKey, 50);
    const socket = await rawSocket(url);
    expect(await socket.closed).toEqual({ code: 1008, reason: "no handshake within 50 ms" });
  });

  test("a tampered frame closes the channel: the request in flight fails and the peer is marked down", async () => {
    // A listener holding the key that, once ready, sends a frame out of sequence.
    type State = {
      step: "hello" | "auth" | "ready";
      answer?: Awaited<ReturnType<typeof answerPeerHello>>;
    };
    const tamperer = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, server) =>
        server.upgrade(req, { data: { step: "hello" } satisfies State })
          ? undefined
          : new Response("no", { status: 400 }),
      websocket: {
        data: {} as State,
        async message(ws, text) {
          const state = ws.data;
          if (state.step === "hello") {
            state.step = "auth";
            state.answer = await answerPeerHello(String(text), appKey, "ins_tamper0001");
            return void ws.send(state.answer.welcome);
          }
          if (state.step === "auth") {
            state.step = "ready";
            return (await state.answer!.finish(String(text), ws)).send({ type: "ready" });
          }
          // The dialer's request arrived: answer with a frame whose seq skips ahead.
          ws.send(
            JSON.stringify({
              seq: 9,
              payload: {
                kid: "K_peer",
                nonceB64: "AAAAAAAAAAAAAAAJ",
                ciphertextB64: "AAAAAAAAAAAAAAAAAAAAAA==",
              },
            }),
          );
        },
      },
    });
    servers.push(tamperer);
    const { peers, lines } = dialer();
    const url = `http://127.0.0.1:${tamperer.port}`;
    const reply = await peers.forward(
      { instanceId: "ins_tamper0001", url },
      get(`/sessions/${SID}`),
    );
    expect(reply).toMatchObject({
      ok: false,
      reason: expect.stringContaining("refused a frame: expected seq 2, got 9"),
    });
    expect(lines).toContainEqual(expect.objectContaining({ msg: "marked a peer down", peer: url }));
  });

  test("a request outside the listener's contract is refused here alone; the channel stays open", async () => {
    const { url, listener } = startListener(async () => Response.json({ ok: true }));
    const { peers } = dialer();
    expect(
      (await peers.forward({ instanceId: "ins_listener01", url }, get(`/sessions/${SID}`))).ok,
    ).toBe(true);
    expect(
      await peers.forward(
        { instanceId: "ins_listener01", url },
        get(`/sessions/${SID}/stream?fromSeq=${"9".repeat(3_000)}`),
      ),
    ).toMatchObject({ ok: false, invalid: true, reason: expect.stringContaining("path") });
    expect(
      await peers.forward(
        { instanceId: "ins_listener01", url },
        get(`/sessions/${SID}`, `Bearer ${"t".repeat(5_000)}`),
      ),
    ).toMatchObject({
      ok: false,
      invalid: true,
      reason: expect.stringContaining("headers.authorization"),
    });
    // Only the session requests: never a session start, a function, or anything else.
    for (const path of [
      "/sessions",
      "/invoke/generate-prompt",
      `/sessions/${SID}/../../invoke/x`,
      "/sessions/..",
      "/report/etherea",
    ]) {
      expect(
        await peers.forward(
          { instanceId: "ins_listener01", url },
          { ...get(path), method: "POST" },
        ),
      ).toMatchObject({ ok: false, invalid: true });
    }
    expect(
      (await peers.forward({ instanceId: "ins_listener01", url }, get(`/sessions/${SID}`))).ok,
    ).toBe(true);
    expect(listener.openChannels).toBe(1);
  });

  test("an owner that does not answer in time fails the request and is marked down", async () => {
    const { url } = startListener(() => new Promise<Response>(() => {}));
    const { peers, lines } = dialer(appKey, { answerTimeoutMs: 100 });
    expect(
      await peers.forward({ instanceId: "ins_listener01", url }, get(`/sessions/${SID}`)),
    ).toMatchObject({ ok: false, reason: "no answer within 100 ms" });
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "marked a peer down", reason: "no answer within 100 ms" }),
    );
  });

  test("nothing listening: the request fails at once and the peer is marked down", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x") });
    const url = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    const { peers } = dialer();
    expect(
      await peers.forward({ instanceId: "ins_gone000001", url }, get(`/sessions/${SID}`)),
    ).toMatchObject({ ok: false });
    expect(peers.isDown(url)).toBe(true);
  });

  test("the owner going away mid-stream ends a plaintext session stream with an error event", async () => {
    const { url, listener } = startListener(async () => {
      const line =
        '{"protocolVersion":1,"sessionId":"ses_aaaaaaaaaaaaaaaaaaaaaa","seq":1,"type":"session_init","payload":{"encryption":{"enabled":false}}}\n';
      return new Response(
        new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode(line)) }),
        { headers: { "content-type": "application/x-ndjson" } },
      );
    });
    const { peers } = dialer();
    const reply = await peers.forward(
      { instanceId: "ins_listener01", url },
      get(`/sessions/${SID}/stream`),
    );
    if (!reply.ok) throw new Error(reply.reason);
    const reader = reply.body.getReader();
    await reader.read();
    listener.closeAll();
    const rest = new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(rest)).toMatchObject({
      seq: 2,
      type: "error",
      payload: { code: "session_owner_unavailable" },
    });
    expect((await reader.read()).done).toBe(true);
  });
});
