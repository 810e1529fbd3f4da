// GET /egress-log/stream under a reader that does not keep up: the server queues at most a
// bounded backlog for it, then ends the stream with `lagging` and where to resume, so a reader
// that stops reading cannot make the server hold the log for it. Real HTTP on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EgressLog } from "../../src/egress/index.ts";
import { egressLogRoutes, MAX_STREAM_BACKLOG } from "../../src/http/routes/egress-log.ts";
import { EgressStreamLineSchema } from "../../sdk/wire/egress-log.ts";

const record = (i: number) => ({
  time: new Date().toISOString(),
  app: "a",
  fn: "f",
  method: "POST",
  scheme: "https",
  host: "example.com",
  path: `/p/${"x".repeat(400)}/${i}`,
  queryKeys: [],
  status: 200,
  requestBytes: 1,
  responseBytes: 1,
  requestSha256: null,
  responseSha256: null,
  durationMs: 1,
  allowed: true,
});

let log: EgressLog;
let server: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  log = new EgressLog(200_000);
  const app = egressLogRoutes(log);
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => app.fetch(req) });
});
afterAll(() => server.stop(true));

describe("a stream whose reader stalls", () => {
  test("ends with lagging and the seq to resume from; what it sent before is in order", async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/egress-log/stream`);
    const reader = res.body!.getReader();
    await reader.read(); // the start line
    // Far more than socket buffers and the backlog hold, while the reader does not read.
    for (let i = 0; i < 60_000; i++) log.record(record(i));
    const decoder = new TextDecoder();
    let text = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      text += decoder.decode(chunk.value, { stream: true });
    const lines = text
      .trim()
      .split("\n")
      .map((l) => EgressStreamLineSchema.parse(JSON.parse(l)));
    const last = lines.at(-1)!;
    expect(last.type).toBe("lagging");
    const entries = lines
      .filter((l) => l.type === "entry")
      .map((l) => (l.type === "entry" ? l.entry.seq : 0));
    expect(entries.length).toBeLessThan(60_000);
    expect(entries.length).toBeGreaterThanOrEqual(MAX_STREAM_BACKLOG);
    expect(entries).toEqual(entries.map((_, i) => entries[0]! + i));
    if (last.type === "lagging") expect(last.nextSeq).toBe(entries.at(-1)! + 1);
    // The log dropped this reader: new entries do not queue for it.
    expect((log as unknown as { listeners: Set<unknown> }).listeners.size).toBe(0);
  }, 30_000);
});
