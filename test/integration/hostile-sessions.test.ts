// The sandbox's promises held over HTTP against the real server, as an outside review broke
// them: hostile scripts end at their own limits while trivial sessions run normally, cancel is
// answered while a script is busy, and the sum of what sessions hold has a server-wide budget.
// Outcomes are checked by order and code, never by time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { events, untilType } from "../helpers/sessions.ts";

const start = (url: string, code: string, limits?: object) =>
  fetch(`${url}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ protocolVersion: 1, code, limits }),
  });

async function finalOf(res: Response) {
  const iter = events(res);
  const init = await untilType(iter, "session_init");
  return { init, final: (await untilType(iter, "final")).payload as Record<string, any> };
}

describe("hostile scripts beside a trivial session", () => {
  let server: AuditorProcess;
  beforeAll(async () => {
    server = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const hogs = [
    `for (;;) {}`,
    `throw { toJSON: () => { for (;;) {} } }`,
    `return { toJSON: () => { for (;;) {} } }`,
    `await callTool("echo", {}); return { then: () => { for (;;) {} } }`,
    `await callTool("echo", { a: { toJSON: () => { for (;;) {} } } })`,
    `const o = {}; Object.defineProperty(o, "x", { get: () => { for (;;) {} }, enumerable: true }); console.log(o)`,
  ];

  test("one hog per core (and more): the trivial session completes first, every hog ends at its limit", async () => {
    const cores = availableParallelism();
    const order: string[] = [];
    // 2.5 s of CPU each: room for a loaded machine to start the trivial session's worker first.
    const running = hogs.concat(hogs.slice(0, Math.max(0, cores - hogs.length))).map((code, i) =>
      start(server.url, code, { cpuMs: 2_500 })
        .then(finalOf)
        .then((r) => (order.push(`hog ${i}`), r.final)),
    );
    await Bun.sleep(300); // the hogs are in their slices now
    const trivial = await finalOf(await start(server.url, `return 1 + 1`));
    order.push("trivial");
    expect(trivial.final).toMatchObject({ ok: true, result: 2 });
    const finals = await Promise.all(running);
    finals.forEach((final, i) => {
      expect(final.ok).toBe(false);
      // A thrown value is described without running it: that one ends at once, as script_error.
      if (hogs[i % hogs.length]!.startsWith("throw")) {
        expect(final.error.code).toBe("script_error");
        return;
      }
      expect(final.error.code).toBe("cpu_limit");
      expect(order.indexOf("trivial")).toBeLessThan(order.indexOf(`hog ${i}`));
    });
  }, 60_000);

  test("cancel is answered while the script is busy, and the session ends cancelled", async () => {
    const res = await start(server.url, `for (;;) {}`, { cpuMs: 60_000, timeoutMs: 60_000 });
    const iter = events(res);
    const init = await untilType(iter, "session_init");
    const token = (init.payload as { sessionToken: string }).sessionToken;
    await Bun.sleep(200);
    const cancel = await fetch(`${server.url}/sessions/${init.sessionId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ state: "cancelled" });
    expect((await untilType(iter, "final")).payload).toMatchObject({
      ok: false,
      error: { code: "cancelled" },
    });
  });
});

describe("the server-wide memory budget and the per-caller cap", () => {
  let server: AuditorProcess;
  beforeAll(async () => {
    server = await startAuditor({
      env: {
        AUDITOR_TEE: "dev",
        AUDITOR_MEMORY_BUDGET_MB: "160",
        AUDITOR_MAX_SESSIONS_PER_CALLER: "12",
        AUDITOR_MAX_WORKERS: "2",
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("sessions parked with large heaps fill the budget: the next fails memory_budget, new ones get 503", async () => {
    // Each holds ~20 MB in its sandbox while it waits for input.
    const code = `const s = "x".repeat(20e6) + "y"; const v = await callTool("input", {}); return s.length + v;`;
    const parked: { sessionId: string; token: string; callId: string }[] = [];
    let refused: Record<string, any> | undefined;
    let refusedStart: Response | undefined;
    for (let i = 0; i < 12 && !refused && !refusedStart; i++) {
      const res = await start(server.url, code);
      if (res.status === 503) {
        refusedStart = res;
        break;
      }
      const iter = events(res);
      const init = await untilType(iter, "session_init");
      const next = await Promise.race([untilType(iter, "tool_call"), untilType(iter, "final")]);
      if (next.type === "final") refused = next.payload as Record<string, any>;
      else
        parked.push({
          sessionId: init.sessionId,
          token: (init.payload as { sessionToken: string }).sessionToken,
          callId: (next.payload as { callId: string }).callId,
        });
    }
    expect(parked.length).toBeGreaterThan(1);
    if (refused) expect(refused).toMatchObject({ ok: false, error: { code: "memory_budget" } });
    const more = refusedStart ?? (await start(server.url, `return 1`));
    expect(more.status).toBe(503);
    expect(more.headers.get("retry-after")).toBeTruthy();
    expect(await more.json()).toMatchObject({ error: "memory_budget" });
    // The server itself is fine, and once the parked sessions end their memory is given back.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    for (const p of parked) {
      const answered = await fetch(`${server.url}/sessions/${p.sessionId}/input`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${p.token}` },
        body: JSON.stringify({ callId: p.callId, value: 0 }),
      });
      expect(answered.status).toBe(200);
    }
    let again: Response | undefined;
    for (let i = 0; i < 50; i++) {
      again = await start(server.url, `return 1`);
      if (again.status === 200) break;
      await again.text();
      await Bun.sleep(100);
    }
    expect(again!.status).toBe(200);
    expect((await finalOf(again!)).final).toMatchObject({ ok: true, result: 1 });
  });

  test("one caller may run only its share of sessions at once (429 with Retry-After)", async () => {
    const open = await Promise.all(
      Array.from({ length: 12 }, () => start(server.url, `await callTool("input", {}); return 1`)),
    );
    expect(open.every((r) => r.status === 200)).toBe(true);
    const thirteenth = await start(server.url, `return 1`);
    expect(thirteenth.status).toBe(429);
    expect(thirteenth.headers.get("retry-after")).toBeTruthy();
    expect(await thirteenth.json()).toMatchObject({ error: "too_many_sessions" });
    for (const r of open) await r.body?.cancel();
  });
});
