// Session helpers shared by suites that run the server from source and as a binary.
import { expect } from "bun:test";

/** Starts a session and resolves with its last line once the stream ends. */
async function sessionFinal(url: string, code: string, limits?: object): Promise<Record<string, any>> {
  const res = await fetch(`${url}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ protocolVersion: 1, code, limits }) });
  const lines = (await res.text()).trimEnd().split("\n");
  return JSON.parse(lines.at(-1)!);
}

/** A CPU-bound session must not delay /healthz or a quick session (checked by order, not time). */
export async function hogDoesNotStall(url: string) {
  const order: string[] = [];
  const hog = sessionFinal(url, "for (;;) {}", { cpuMs: 1500 }).then((final) => (order.push("hog"), final));
  await Bun.sleep(100); // the hog is burning CPU in a worker now
  const health = await fetch(`${url}/healthz`);
  order.push(`healthz ${health.status}`);
  const quick = await sessionFinal(url, "return (await callTool('echo', { n: 1 })).n");
  order.push("quick");
  expect(quick.payload).toMatchObject({ ok: true, result: 1 });
  expect((await hog).payload).toMatchObject({ ok: false, error: { code: "cpu_limit" } });
  expect(order).toEqual(["healthz 200", "quick", "hog"]);
}

