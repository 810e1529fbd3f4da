// Encrypted sessions over real HTTP against the server process, driven by a client written only
// from the spec (test/helpers/spec-client.ts): the handshake, sealed events, sealed control
// messages and replies, every refusal, and a man in the middle who swaps keys.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { ndjson } from "../helpers/sessions.ts";
import {
  open,
  seal,
  SpecClient,
  SpecRefusal,
  type EncLine,
  type SpecKeys,
} from "../helpers/spec-client.ts";

let server: AuditorProcess;
let identityKey: string;
let kid: string;
const OPERATOR_KEY = "operator-key-for-encrypted-session-tests";

beforeAll(async () => {
  server = await startAuditor({ env: { AUDITOR_TEE: "dev", AUDITOR_OPERATOR_KEYS: OPERATOR_KEY } });
  const { statement } = await (await fetch(`${server.url}/attestation`)).json();
  identityKey = statement.identityKey;
  kid = statement.kid;
});
afterAll(async () => {
  await server?.stop();
});

interface Opened {
  client: SpecClient;
  keys: SpecKeys;
  sessionId: string;
  init: any;
  iter: AsyncGenerator<any>;
  raw: string[];
  /** Decrypts the next event line (exactly the next seq). */
  next(): Promise<any>;
  until(type: string): Promise<any>;
  control(
    path: string,
    type: string,
    body: unknown,
    seq: number,
  ): Promise<{ status: number; reply: any }>;
}

async function startEncrypted(code: string, extra: object = {}): Promise<Opened> {
  const client = await SpecClient.create(identityKey);
  const res = await fetch(`${server.url}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      protocolVersion: 1,
      code,
      encryption: { mode: "required", clientPublicKey: client.publicKeyB64 },
      ...extra,
    }),
  });
  expect(res.status).toBe(200);
  const raw: string[] = [];
  const source = ndjson(res);
  const iter = (async function* () {
    for await (const line of source) {
      raw.push(JSON.stringify(line));
      yield line;
    }
  })();
  const init = (await iter.next()).value;
  expect(init.type).toBe("session_init");
  const keys = await client.handshake(init.sessionId, init.payload.encryption);
  let seq = init.seq;
  const opened: Opened = {
    client,
    keys,
    sessionId: init.sessionId,
    init,
    iter,
    raw,
    async next() {
      const r = await iter.next();
      if (r.done) throw new Error("stream ended");
      return open(keys.s2c, r.value as EncLine, ++seq, kid);
    },
    async until(type) {
      for (;;) {
        const event = await opened.next();
        if (event.type === type) return event;
      }
    },
    async control(path, type, body, controlSeq) {
      const envelope = await seal(keys.c2s, init.sessionId, controlSeq, kid, {
        seq: controlSeq,
        type,
        body,
      });
      const r = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(envelope),
      });
      const json = await r.json();
      if (json.type !== "enc") return { status: r.status, reply: json };
      const reply = await open(keys.reply, json, controlSeq, kid);
      expect(reply.status).toBe(r.status);
      return { status: r.status, reply: reply.body };
    },
  };
  return opened;
}

const SCRIPT = `const users = await callTool('get_users', {}); const answer = await callTool('input', { prompt: 'secret?' }); return { names: users.map((u) => u.name), answer };`;

describe("encrypted sessions", () => {
  test("a spec-only client: pinned handshake, sealed events in order, sealed input and reply, final", async () => {
    const s = await startEncrypted(SCRIPT);
    expect(s.init.payload.sessionToken).toBeUndefined(); // the token is derived, never sent
    expect(s.init.payload.encryption.kid).toBe(kid);
    const ask = await s.until("tool_call");
    expect(ask.payload.toolName).toBe("get_users");
    const input = await s.until("tool_call");
    expect(input.payload).toMatchObject({ toolName: "input", args: { prompt: "secret?" } });
    const { status, reply } = await s.control(
      `/sessions/${s.sessionId}/input`,
      "input",
      { callId: input.payload.callId, value: "ultraviolet" },
      1,
    );
    expect(status).toBe(200);
    expect(reply).toEqual({ sessionId: s.sessionId, callId: input.payload.callId, applied: true });
    const final = await s.until("final");
    expect(final.payload).toMatchObject({
      ok: true,
      result: { names: ["Ada", "Grace", "Alan"], answer: "ultraviolet" },
    });
    // What an intermediary saw: session_init in clear, then ciphertext only.
    const wire = s.raw.join("\n");
    // Quoted, as they would appear in plaintext JSON: base64 ciphertext never contains a quote,
    // so a bare word could match by chance but these cannot.
    for (const secret of ['"Ada"', '"ultraviolet"', '"secret?"', '"get_users"'])
      expect(wire).not.toContain(secret);
    expect(s.raw.slice(1).every((line) => JSON.parse(line).type === "enc")).toBe(true);

    // The derived token authorizes the GET endpoints; resume replays the same ciphertext.
    const state = await fetch(`${server.url}/sessions/${s.sessionId}`, {
      headers: { authorization: `Bearer ${s.keys.token}` },
    });
    expect((await state.json()).state).toBe("completed");
    expect((await fetch(`${server.url}/sessions/${s.sessionId}`)).status).toBe(401);
    const resumed = (
      await (
        await fetch(`${server.url}/sessions/${s.sessionId}/stream?fromSeq=3`, {
          headers: { authorization: `Bearer ${s.keys.token}` },
        })
      ).text()
    )
      .trimEnd()
      .split("\n");
    expect(resumed).toEqual(s.raw.slice(2));
  });

  test("sealed cancel; plaintext control and bearer-only control are refused on an encrypted session", async () => {
    const s = await startEncrypted(`await callTool('input', {}); return 1;`);
    await s.until("tool_call");
    const plain = await fetch(`${server.url}/sessions/${s.sessionId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.keys.token}` },
    });
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({ error: "envelope_required" });
    const { status, reply } = await s.control(`/sessions/${s.sessionId}/cancel`, "cancel", {}, 1);
    expect(status).toBe(200);
    expect(reply).toMatchObject({ state: "cancelled" });
    expect((await s.until("final")).payload.error.code).toBe("cancelled");
  });

  test("refs resolve through an envelope; the reply carries the values sealed", async () => {
    const s = await startEncrypted(`return await callTool('get_users', { count: 2 });`, {
      refPolicy: { resolveReturned: false },
    });
    const final = await s.until("final");
    const id = final.payload.result.$ref.id;
    const res = await fetch(`${server.url}/refs/resolve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sessionId: s.sessionId, refs: [id] }),
    });
    expect(res.status).toBe(400); // plaintext is refused for an encrypted session
    const { status, reply } = await s.control("/refs/resolve", "refs_resolve", { refs: [id] }, 1);
    expect(status).toBe(200);
    expect(reply.values[id]).toEqual([
      { id: 1, name: "Ada", email: "ada@example.com" },
      { id: 2, name: "Grace", email: "grace@example.com" },
    ]);
  });

  test("a sealed refusal's code stays out of the metrics; a plaintext one is counted", async () => {
    const errorsOf = async (code: string) => {
      const res = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${OPERATOR_KEY}` },
      });
      const line = (await res.text())
        .split("\n")
        .find((l) => l.startsWith("auditor_http_errors_total{") && l.includes(`code="${code}"`));
      return line ? Number(line.split(" ").at(-1)) : 0;
    };
    const before = await errorsOf("unknown_call");
    const s = await startEncrypted(`await callTool('input', {}); return 1;`);
    await s.until("tool_call");
    const sealed = await s.control(
      `/sessions/${s.sessionId}/input`,
      "input",
      { callId: "call_999", value: 1 },
      1,
    );
    expect([sealed.status, sealed.reply.error]).toEqual([404, "unknown_call"]);
    expect(await errorsOf("unknown_call")).toBe(before);

    const res = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ protocolVersion: 1, code: `await callTool('input', {}); return 1;` }),
    });
    const init = (await ndjson(res).next()).value as {
      sessionId: string;
      payload: { sessionToken: string };
    };
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${init.payload.sessionToken}`,
    };
    const plain = await fetch(`${server.url}/sessions/${init.sessionId}/input`, {
      method: "POST",
      headers,
      body: JSON.stringify({ callId: "call_999", value: 1 }),
    });
    expect([plain.status, (await plain.json()).error]).toEqual([404, "unknown_call"]);
    expect(await errorsOf("unknown_call")).toBe(before + 1);
    await fetch(`${server.url}/sessions/${init.sessionId}/cancel`, { method: "POST", headers });
    await s.control(`/sessions/${s.sessionId}/cancel`, "cancel", {}, 2);
  });

  test("optional without a key is plaintext; a malformed, non-canonical or off-curve key is a 400 naming the field", async () => {
    const res = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        protocolVersion: 1,
        code: "return 1",
        encryption: { mode: "optional" },
      }),
    });
    const first = JSON.parse((await res.text()).split("\n")[0]!);
    expect(first.payload.encryption).toEqual({ enabled: false });
    const offCurve = new Uint8Array(65);
    offCurve[0] = 4;
    offCurve[64] = 1;
    const client = await SpecClient.create(identityKey);
    const spare = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = spare.indexOf(client.publicKeyB64.at(-1)!);
    const otherSpelling = client.publicKeyB64.slice(0, -1) + spare[last ^ 1]; // a spare bit set
    for (const key of [
      "AAAA",
      otherSpelling,
      btoa(String.fromCharCode(...offCurve))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, ""),
    ]) {
      const bad = await fetch(`${server.url}/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          protocolVersion: 1,
          code: "return 1",
          encryption: { mode: "optional", clientPublicKey: key },
        }),
      });
      expect(bad.status).toBe(400);
      expect((await bad.json()).message).toContain("encryption.clientPublicKey");
    }
  });
});

const REFUSED = { error: "decrypt_failed", message: "the envelope could not be opened" };
const postInput = (s: Opened, envelope: unknown) =>
  fetch(`${server.url}/sessions/${s.sessionId}/input`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(envelope),
  });

describe("envelopes that do not authenticate are refused uniformly and change nothing", () => {
  const forgeries: [string, (s: Opened, callId: string) => Promise<unknown> | unknown][] = [
    [
      "a bad tag",
      async (s, callId) => {
        const e = await seal(s.keys.c2s, s.sessionId, 1, kid, {
          seq: 1,
          type: "input",
          body: { callId, value: "forged" },
        });
        const ct = Uint8Array.from(atob(e.payload.ciphertextB64), (c) => c.charCodeAt(0));
        ct[0]! ^= 1;
        e.payload.ciphertextB64 = btoa(String.fromCharCode(...ct));
        return e;
      },
    ],
    [
      "a wrong kid",
      async (s, callId) =>
        seal(s.keys.c2s, s.sessionId, 1, "AAAAAAAAAAAAAAAA", {
          seq: 1,
          type: "input",
          body: { callId, value: "forged" },
        }),
    ],
    [
      "a seq that is not the next",
      async (s, callId) =>
        seal(s.keys.c2s, s.sessionId, 2, kid, {
          seq: 2,
          type: "input",
          body: { callId, value: "forged" },
        }),
    ],
    [
      "the wrong key (s2c instead of c2s)",
      async (s, callId) =>
        seal(s.keys.s2c, s.sessionId, 1, kid, {
          seq: 1,
          type: "input",
          body: { callId, value: "forged" },
        }),
    ],
    [
      "garbage ciphertext",
      (s) => ({
        protocolVersion: 1,
        sessionId: s.sessionId,
        seq: 1,
        type: "enc",
        payload: {
          kid,
          nonceB64: "AAAAAAAAAAAAAAAB",
          ciphertextB64: "Z2FyYmFnZWdhcmJhZ2VnYXJiYWdl",
        },
      }),
    ],
    [
      "a truncated ciphertext",
      (s) => ({
        protocolVersion: 1,
        sessionId: s.sessionId,
        seq: 1,
        type: "enc",
        payload: { kid, nonceB64: "AAAAAAAAAAAAAAAB", ciphertextB64: "AAAA" },
      }),
    ],
    [
      "a ciphertext in another base64 spelling of the same bytes (a line break inside)",
      async (s, callId) => {
        const e = await seal(s.keys.c2s, s.sessionId, 1, kid, {
          seq: 1,
          type: "input",
          body: { callId, value: "forged" },
        });
        e.payload.ciphertextB64 = `${e.payload.ciphertextB64.slice(0, 8)}\n${e.payload.ciphertextB64.slice(8)}`;
        return e;
      },
    ],
  ];
  for (const [name, forge] of forgeries) {
    test(name, async () => {
      const s = await startEncrypted(`const x = await callTool('input', {}); return x;`);
      const call = await s.until("tool_call");
      for (let i = 0; i < 3; i++) {
        const res = await postInput(s, await forge(s, call.payload.callId));
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual(REFUSED);
      }
      // The genuine seq 1 still opens: the forgeries spent nothing, and the session runs on.
      const genuine = await seal(s.keys.c2s, s.sessionId, 1, kid, {
        seq: 1,
        type: "input",
        body: { callId: call.payload.callId, value: "real" },
      });
      expect((await postInput(s, genuine)).status).toBe(200);
      expect(await s.until("final")).toMatchObject({ payload: { ok: true, result: "real" } });
    });
  }

  test("a replayed control message is refused and the session goes on", async () => {
    const s = await startEncrypted(
      `const a = await callTool('input', {}); const b = await callTool('input', {}); return [a, b];`,
    );
    const first = await s.until("tool_call");
    const envelope = await seal(s.keys.c2s, s.sessionId, 1, kid, {
      seq: 1,
      type: "input",
      body: { callId: first.payload.callId, value: "once" },
    });
    expect((await postInput(s, envelope)).status).toBe(200);
    const second = await s.until("tool_call");
    const replay = await postInput(s, envelope);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toEqual(REFUSED);
    const next = await seal(s.keys.c2s, s.sessionId, 2, kid, {
      seq: 2,
      type: "input",
      body: { callId: second.payload.callId, value: "twice" },
    });
    expect((await postInput(s, next)).status).toBe(200);
    expect(await s.until("final")).toMatchObject({
      payload: { ok: true, result: ["once", "twice"] },
    });
  });
});

describe("an authentic envelope that breaks the protocol ends the session", () => {
  const violations: [string, (s: Opened, callId: string) => Promise<unknown>][] = [
    [
      "an inner seq that differs from the outer",
      async (s, callId) =>
        seal(s.keys.c2s, s.sessionId, 1, kid, {
          seq: 5,
          type: "input",
          body: { callId, value: 1 },
        }),
    ],
    [
      "a message for another endpoint",
      async (s) => seal(s.keys.c2s, s.sessionId, 1, kid, { seq: 1, type: "cancel", body: {} }),
    ],
  ];
  for (const [name, forge] of violations) {
    test(name, async () => {
      const s = await startEncrypted(`const x = await callTool('input', {}); return x;`);
      const call = await s.until("tool_call");
      const res = await postInput(s, await forge(s, call.payload.callId));
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual(REFUSED);
      const last = await s.next();
      expect(last).toMatchObject({ type: "error", payload: { code: "encryption_error" } });
      expect((await s.iter.next()).done).toBe(true);
    });
  }
});

describe("a man in the middle", () => {
  test("swapping in its own ephemeral key is caught by the pinned client, with or without its own signature", async () => {
    const { signP256 } = await import("../../src/crypto/keys.ts");
    const { p256 } = await import("@noble/curves/p256");
    const generateEphemeralKeyPair = () => {
      const privateKey = p256.utils.randomPrivateKey();
      return { privateKey, publicKey: p256.getPublicKey(privateKey, false) };
    };
    const mitmIdentity = generateEphemeralKeyPair();
    for (const resign of [false, true]) {
      const mitmKey = generateEphemeralKeyPair();
      const b64url = (b: Uint8Array) =>
        btoa(String.fromCharCode(...b))
          .replace(/\+/g, "-")
          .replace(/\//g, "_")
          .replace(/=+$/, "");
      // A proxy that talks to the server with its own key and hands the client its own server key.
      const proxy = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(req) {
          const body = await req.json();
          body.encryption.clientPublicKey = b64url(mitmKey.publicKey);
          const upstream = await fetch(`${server.url}/sessions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          const text = await upstream.text();
          const [first, ...rest] = text.trimEnd().split("\n");
          const init = JSON.parse(first!);
          init.payload.encryption.serverPublicKey = b64url(mitmKey.publicKey);
          if (resign)
            init.payload.encryption.signature = b64url(
              signP256(new Uint8Array(32), mitmIdentity.privateKey),
            );
          return new Response([JSON.stringify(init), ...rest].join("\n") + "\n", {
            headers: { "content-type": "application/x-ndjson" },
          });
        },
      });
      try {
        const client = await SpecClient.create(identityKey);
        const res = await fetch(`http://127.0.0.1:${proxy.port}/sessions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            protocolVersion: 1,
            code: "return 1",
            encryption: { mode: "required", clientPublicKey: client.publicKeyB64 },
          }),
        });
        const init = JSON.parse((await res.text()).split("\n")[0]!);
        await expect(client.handshake(init.sessionId, init.payload.encryption)).rejects.toThrow(
          SpecRefusal,
        );
      } finally {
        proxy.stop(true);
      }
    }
  });
});
