// The extracted runtime: a middleware and two `auditor runtime` processes on loopback, each
// pinning the other's key. Sessions give the same events as embedded ones; a runtime killed
// mid-run ends its session cleanly and the other keeps serving; unpinned keys are refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { runtimeKeyDir, startRuntime, type RuntimeProcess } from "../helpers/runtime.ts";

const SCRIPT =
  "const users = await callTool('get_users', {}); console.log('got', users.length); const r = await callTool('process', { users }); return { r, echo: await callTool('echo', { n: 1 }) };";

async function run(url: string, code: string) {
  const res = await fetch(`${url}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ protocolVersion: 1, code }),
  });
  return (await res.text())
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
}

/** Events as a client compares them: types and payloads, without ids, times and durations. */
const comparable = (events: any[]) =>
  events
    .slice(1)
    .filter((e) => e.type !== "heartbeat")
    .map((e) => ({
      type: e.type,
      payload:
        e.type === "final"
          ? { ...e.payload, stats: { ...e.payload.stats, durationMs: 0, cpuMs: 0 } }
          : e.payload,
    }));

let middleware: AuditorProcess;
let embedded: AuditorProcess;
const runtimes: RuntimeProcess[] = [];
const dirs = [runtimeKeyDir(), runtimeKeyDir()];

beforeAll(async () => {
  [middleware, embedded] = await Promise.all([
    startAuditor({
      env: {
        AUDITOR_TEE: "dev",
        AUDITOR_RUNTIME_KEYS: dirs.map((d) => d.kid).join(","),
        AUDITOR_RATE_LIMIT_PER_MIN: "100000",
      },
    }),
    startAuditor({ env: { AUDITOR_TEE: "dev" } }),
  ]);
  const { statement } = await (await fetch(`${middleware.url}/attestation`)).json();
  for (const d of dirs) runtimes.push(startRuntime(middleware.url, statement.kid, d.dir));
  for (
    let i = 0;
    i < 200 && middleware.lines.filter((l) => l.includes("runtime slot attached")).length < 4;
    i++
  )
    await Bun.sleep(25);
}, 30_000);

afterAll(async () => {
  for (const r of runtimes) r.proc.kill();
  await Promise.all([middleware?.stop(), embedded?.stop()]);
});

describe("extracted runtime", () => {
  test("four slots attached after mutual authentication", () => {
    expect(
      middleware.lines.filter((l) => l.includes("runtime slot attached")).length,
    ).toBeGreaterThanOrEqual(4);
  });

  test("a session on an extracted runtime gives the same events as an embedded one", async () => {
    const remote = await run(middleware.url, SCRIPT);
    const local = await run(embedded.url, SCRIPT);
    expect(remote.at(-1)).toMatchObject({
      type: "final",
      payload: { ok: true, result: { r: { count: 3, ids: [1, 2, 3] }, echo: { n: 1 } } },
    });
    expect(comparable(remote)).toEqual(comparable(local));
    expect(runtimes.some((r) => r.lines.some((l) => l.includes(remote[0].sessionId)))).toBe(true);
  });

  test("a runtime killed mid-run ends its session cleanly; the other keeps serving", async () => {
    const res = await fetch(`${middleware.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ protocolVersion: 1, code: "await callTool('input', {}); return 1;" }),
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const sessionId = JSON.parse(first.split("\n")[0]!).sessionId;
    let victim: RuntimeProcess | undefined;
    for (let i = 0; i < 200 && !victim; i++) {
      victim = runtimes.find((r) => r.lines.some((l) => l.includes(sessionId)));
      if (!victim) await Bun.sleep(10);
    }
    expect(victim).toBeDefined();
    victim!.proc.kill("SIGKILL");
    let rest = first;
    const deadline = Date.now() + 10_000;
    while (!rest.includes('"type":"final"') && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) break;
      rest += new TextDecoder().decode(chunk.value);
    }
    const final = JSON.parse(rest.trimEnd().split("\n").at(-1)!);
    expect(final).toMatchObject({
      type: "final",
      payload: { ok: false, error: { code: "runtime_lost" } },
    });
    const survivor = await run(middleware.url, "return (await callTool('echo', { ok: true })).ok;");
    expect(survivor.at(-1)).toMatchObject({ type: "final", payload: { ok: true, result: true } });
  });

  test("keys nobody pinned are refused, both ways", async () => {
    const stranger = runtimeKeyDir();
    const unpinned = startRuntime(
      middleware.url,
      (await (await fetch(`${middleware.url}/attestation`)).json()).statement.kid,
      stranger.dir,
    );
    const wrongPin = startRuntime(middleware.url, "AAAAAAAAAAAAAAAA", dirs[0]!.dir);
    try {
      for (
        let i = 0;
        i < 200 &&
        !(
          middleware.lines.some((l) => l.includes("is not pinned")) &&
          wrongPin.lines.some((l) => l.includes("refused the middleware"))
        );
        i++
      )
        await Bun.sleep(25);
      expect(
        middleware.lines.some((l) => l.includes(`runtime key kid ${stranger.kid} is not pinned`)),
      ).toBe(true);
      expect(wrongPin.lines.some((l) => l.includes("refused the middleware"))).toBe(true);
    } finally {
      unpinned.proc.kill();
      wrongPin.proc.kill();
    }
  });
});
