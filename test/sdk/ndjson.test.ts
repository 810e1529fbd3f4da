// NDJSON framing over arbitrary chunk boundaries.
import { describe, expect, test } from "bun:test";
import { ndjsonLines } from "../../sdk/client/ndjson.ts";

const streamOf = (chunks: (string | Uint8Array)[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks)
        controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
      controller.close();
    },
  });

async function collect(chunks: (string | Uint8Array)[]) {
  const out = [];
  for await (const line of ndjsonLines(streamOf(chunks))) out.push(line);
  return out;
}

describe("ndjsonLines", () => {
  test("lines split across chunks and several lines in one chunk", async () => {
    expect(await collect(['{"a":', '1}\n{"b"', ":2}\n", '{"c":3}\n{"d":4}\n'])).toEqual([
      { text: '{"a":1}', complete: true },
      { text: '{"b":2}', complete: true },
      { text: '{"c":3}', complete: true },
      { text: '{"d":4}', complete: true },
    ]);
  });

  test("a multi-byte character cut between chunks", async () => {
    const bytes = new TextEncoder().encode('{"t":"é☃"}\n');
    expect(await collect([bytes.subarray(0, 8), bytes.subarray(8)])).toEqual([
      { text: '{"t":"é☃"}', complete: true },
    ]);
  });

  test("a stream that stops mid-line reports the fragment as incomplete; blank lines are skipped", async () => {
    expect(await collect(['{"a":1}\n\n', '{"b":'])).toEqual([
      { text: '{"a":1}', complete: true },
      { text: '{"b":', complete: false },
    ]);
  });

  test("a line beyond the cap is refused rather than buffered forever", async () => {
    const lines = ndjsonLines(streamOf(["x".repeat(100)]), 50);
    await expect(lines.next()).rejects.toThrow(/longer than 50/);
  });
});
