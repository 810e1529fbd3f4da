// Session helpers shared by suites that run the server from source and as a binary.
import { expect } from "bun:test";
import { keyId } from "../../sdk/crypto/keys.ts";
import { deriveP256KeyPair } from "../../src/crypto/keys.ts";
import { SessionEventSchema, type SessionEvent } from "../../sdk/wire/sessions.ts";

/** Starts a session and resolves with its last line once the stream ends. */
async function sessionFinal(
  url: string,
  code: string,
  limits?: object,
): Promise<Record<string, any>> {
  const res = await fetch(`${url}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ protocolVersion: 1, code, limits }),
  });
  const lines = (await res.text()).trimEnd().split("\n");
  return JSON.parse(lines.at(-1)!);
}

/** A CPU-bound session must not delay /healthz or a quick session (checked by order, not time). */
export async function hogDoesNotStall(url: string) {
  const order: string[] = [];
  const hog = sessionFinal(url, "for (;;) {}", { cpuMs: 1500 }).then(
    (final) => (order.push("hog"), final),
  );
  await Bun.sleep(100); // the hog is burning CPU in a worker now
  const health = await fetch(`${url}/healthz`);
  order.push(`healthz ${health.status}`);
  const quick = await sessionFinal(url, "return (await callTool('echo', { n: 1 })).n");
  order.push("quick");
  expect(quick.payload).toMatchObject({ ok: true, result: 1 });
  expect((await hog).payload).toMatchObject({ ok: false, error: { code: "cpu_limit" } });
  expect(order).toEqual(["healthz 200", "quick", "hog"]);
}

/** Reads NDJSON events as they arrive, lines split across chunks included. */
export async function* events(res: Response): AsyncGenerator<SessionEvent> {
  for await (const line of ndjson(res)) yield SessionEventSchema.parse(line);
}

/** Each line of an NDJSON response as parsed JSON, as it arrives (lines split across chunks included). */
export async function* ndjson(res: Response): AsyncGenerator<any> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffered += decoder.decode(chunk.value, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) !== -1) {
      yield JSON.parse(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
}

export async function untilType(
  iter: AsyncGenerator<SessionEvent>,
  type: SessionEvent["type"],
): Promise<SessionEvent> {
  // next() rather than for-await: leaving a for-await loop would close the generator.
  for (let r = await iter.next(); !r.done; r = await iter.next())
    if (r.value.type === type) return r.value;
  throw new Error(`stream ended before a ${type} event`);
}

/** A server identity for in-process session routes: the key that signs handshakes, and its kid. */
export function testIdentity() {
  const identity = deriveP256KeyPair(
    crypto.getRandomValues(new Uint8Array(32)),
    "auditor/identity/v1",
  );
  return { identity, kid: keyId(identity.publicKey) };
}
