// Request bodies and connections against the real server: every body is read as a stream with
// its cap enforced while reading (a 100 MiB chunked upload costs the server a bounded amount of
// memory, measured from /proc/<pid>/status), a body that has not arrived within the deadline
// is 408 and the connection closes, and one address cannot hold more than its in-flight cap.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { events } from "../helpers/sessions.ts";

const MiB = 1024 * 1024;
let server: AuditorProcess;
let port: number;

beforeAll(async () => {
  server = await startAuditor({
    env: { AUDITOR_TEE: "dev", AUDITOR_RATE_LIMIT_PER_MIN: "100000" },
  });
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.stop();
});

/** The server process's resident set, in bytes. */
function rssOf(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!;
  return Number(kb) * 1024;
}

/** A chunked upload (no Content-Length) of `bytes`; reports how much the server let through. */
async function chunkedPost(path: string, bytes: number, contentType = "application/json") {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
    duplex: "half",
  } as RequestInit);
  return {
    status: res.status,
    body: await res.json(),
    connection: res.headers.get("connection"),
    sent,
  };
}

/** A raw HTTP/1.1 connection, for clients fetch will not imitate (slow, half-sent bodies). */
async function rawConnection() {
  const state = { text: "", closed: false };
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, chunk) => void (state.text += chunk.toString()),
      close: () => void (state.closed = true),
    },
  });
  return {
    state,
    write: (text: string) => socket.write(text),
    end: () => socket.end(),
    async until(check: () => boolean, ms: number) {
      for (const stop = Date.now() + ms; !check() && Date.now() < stop; ) await Bun.sleep(20);
      return check();
    },
  };
}

async function plainSession(code: string) {
  const res = await fetch(`${server.url}/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ protocolVersion: 1, code }),
  });
  const iter = events(res);
  const init = (await iter.next()).value!;
  return {
    iter,
    id: init.sessionId,
    token: (init.payload as { sessionToken: string }).sessionToken,
  };
}

describe("request bodies are streamed with their caps enforced while reading", () => {
  test("a 100 MiB chunked POST to the 256 KiB endpoint is 413 and the server's RSS grows by less than 4 MiB", async () => {
    // Warm up the path (first requests allocate caches that are not the body's).
    for (let i = 0; i < 3; i++)
      expect((await chunkedPost("/invoke/generate-prompt", 2 * MiB)).status).toBe(413);
    Bun.gc(true);
    const before = rssOf(server.proc.pid);
    const result = await chunkedPost("/invoke/generate-prompt", 100 * MiB);
    const after = rssOf(server.proc.pid);
    console.log(
      `100 MiB chunked upload: server RSS ${((after - before) / MiB).toFixed(1)} MiB growth, client sent ${(result.sent / MiB).toFixed(1)} MiB before the 413`,
    );
    expect(result.status).toBe(413);
    expect(result.body).toEqual({
      error: "payload_too_large",
      message: "body: at most 262144 bytes",
    });
    expect(result.connection).toBe("close");
    expect(result.sent).toBeLessThan(100 * MiB); // the upload was cut off, not read to the end
    expect(after - before).toBeLessThan(4 * MiB);
  });

  test("every route and content type that takes a body refuses an oversized chunked one with 413 JSON", async () => {
    const session = await plainSession(`return await callTool("input", {});`);
    const cases: [string, string, number][] = [
      ["/invoke/generate-prompt", "application/json", 256 * 1024],
      ["/invoke/generate-prompt", "application/auditor-sealed+json", 256 * 1024],
      ["/sessions", "application/json", 512 * 1024],
      [`/refs/resolve`, "application/json", 512 * 1024],
    ];
    for (const [path, type, cap] of cases) {
      const result = await chunkedPost(path, 2 * cap, type);
      expect({ path, type, status: result.status, body: result.body }).toEqual({
        path,
        type,
        status: 413,
        body: { error: "payload_too_large", message: `body: at most ${cap} bytes` },
      });
    }
    // Session control needs the token: the body is only read once the caller is known.
    const input = await fetch(`${server.url}/sessions/${session.id}/input`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${session.token}` },
      body: new ReadableStream({
        start: (c) => (c.enqueue(new Uint8Array(520 * 1024).fill(0x20)), c.close()),
      }),
      duplex: "half",
    } as RequestInit);
    expect(input.status).toBe(413);
    expect((await input.json()).error).toBe("payload_too_large");
  });

  test("a declared Content-Length over the cap is 413 before a byte of the body is read; past 576 KiB Bun refuses it outright", async () => {
    const conn = await rawConnection();
    conn.write(
      `POST /invoke/generate-prompt HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${300 * 1024}\r\n\r\n`,
    );
    expect(await conn.until(() => conn.state.text.includes("\r\n\r\n{"), 5_000)).toBe(true);
    expect(conn.state.text).toStartWith("HTTP/1.1 413");
    expect(conn.state.text).toContain('"error":"payload_too_large"');
    expect(await conn.until(() => conn.state.closed, 5_000)).toBe(true);
    const huge = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Uint8Array(MiB),
    });
    expect(huge.status).toBe(413);
  });
});

describe("slow bodies", () => {
  test("a client sending one byte every 3 s gets 408 once the 10 s body deadline passes, and the connection closes", async () => {
    const conn = await rawConnection();
    conn.write(
      "POST /invoke/generate-prompt HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let dripped = 0;
    while (!conn.state.closed && dripped < 10) {
      conn.write("1\r\n \r\n");
      dripped++;
      await conn.until(() => conn.state.closed, 3_000);
    }
    expect(conn.state.closed).toBe(true);
    expect(dripped).toBeLessThan(10); // closed by the server, not by the test giving up
    expect(conn.state.text).toStartWith("HTTP/1.1 408");
    expect(conn.state.text).toContain(
      '{"error":"request_timeout","message":"body: not received in full within 10 s"}',
    );
  }, 40_000);
});

describe("unread bodies", () => {
  test("an answer given without reading the body (415 here) closes the connection, so the rest cannot hold it", async () => {
    const conn = await rawConnection();
    conn.write(
      "POST /invoke/generate-prompt HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n",
    );
    expect(await conn.until(() => conn.state.text.includes("unsupported_media_type"), 5_000)).toBe(
      true,
    );
    expect(conn.state.text).toStartWith("HTTP/1.1 415");
    expect(conn.state.text.toLowerCase()).toContain("connection: close");
    // Keep sending: the server has closed its side and does not wait for the rest.
    for (let i = 0; i < 3 && !conn.state.closed; i++) conn.write("1\r\nx\r\n");
    expect(await conn.until(() => conn.state.closed, 5_000)).toBe(true);
  });
});

describe("in-flight requests per client address", () => {
  let capped: AuditorProcess;
  beforeAll(async () => {
    capped = await startAuditor({
      env: { AUDITOR_TEE: "dev", AUDITOR_RATE_LIMIT_PER_MIN: "100000" },
      args: ["--max-in-flight-per-address", "3"],
    });
  });
  afterAll(async () => {
    await capped?.stop();
  });

  test("open streams and half-sent bodies count; one more is 429 with Retry-After; a finished one frees its slot", async () => {
    const start = () =>
      fetch(`${capped.url}/sessions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ protocolVersion: 1, code: `return await callTool("input", {});` }),
      });
    const waiting = [events(await start()), events(await start())];
    const tokens = [];
    for (const iter of waiting) {
      const init = (await iter.next()).value!;
      tokens.push({
        id: init.sessionId,
        token: (init.payload as { sessionToken: string }).sessionToken,
      });
    }
    // The third slot: a body that never finishes arriving.
    const slow = Bun.connect({
      hostname: "127.0.0.1",
      port: Number(new URL(capped.url).port),
      socket: { data() {} },
    });
    (await slow).write(
      "POST /invoke/generate-prompt HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    await Bun.sleep(200);
    const refused = await fetch(`${capped.url}/healthz`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toEqual({
      error: "too_many_in_flight",
      message: "this address already has 3 requests in progress; retry after 1 s",
    });
    // Answer one session: its stream ends and frees a slot (answering takes the slot it frees).
    (await slow).end();
    await Bun.sleep(100);
    const answer = await fetch(`${capped.url}/sessions/${tokens[0]!.id}/input`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens[0]!.token}` },
      body: JSON.stringify({ callId: "call_1", value: 1 }),
    });
    expect(answer.status).toBe(200);
    for await (const event of waiting[0]!) if (event.type === "final") break;
    await Bun.sleep(100);
    expect((await fetch(`${capped.url}/healthz`)).status).toBe(200);
    await fetch(`${capped.url}/sessions/${tokens[1]!.id}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens[1]!.token}` },
    });
  });

  test("HEAD requests free their slot (Bun sends no body for them): ten in a row never lock the address out", async () => {
    // Before, each HEAD kept its slot for ever: three locked this address out until a restart.
    for (let i = 0; i < 10; i++)
      expect((await fetch(`${capped.url}/healthz`, { method: "HEAD" })).status).toBe(200);
    expect((await fetch(`${capped.url}/healthz`)).status).toBe(200);
  });
});
