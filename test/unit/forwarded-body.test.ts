// The body of a forwarded response: bytes pass unchanged, a session stream only in whole lines,
// and losing the owner mid-stream gives the client a clear ending (an error event at the next
// seq for plaintext, a broken stream for encrypted sessions it cannot speak for).
import { describe, expect, test } from "bun:test";
import { ForwardedBody, OWNER_LOST_CODE } from "../../src/sessions/forwarded-body.ts";

const enc = (text: string) => new TextEncoder().encode(text);
const line = (seq: number, type: string, payload: object = {}) =>
  JSON.stringify({
    protocolVersion: 1,
    sessionId: "ses_aaaaaaaaaaaaaaaaaaaaaa",
    seq,
    type,
    payload,
  }) + "\n";

/** Everything the stream yields, and how it ended. */
async function drain(body: ForwardedBody): Promise<{ text: string; error?: string }> {
  const reader = body.stream.getReader();
  let text = "";
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read())
      text += new TextDecoder().decode(next.value);
  } catch (err) {
    return { text, error: (err as Error).message };
  }
  return { text };
}

describe("ForwardedBody", () => {
  test("a plain body passes unchanged, chunk by chunk", async () => {
    const body = new ForwardedBody(false, () => {});
    body.push(enc('{"a":'));
    body.push(enc("1}"));
    body.end();
    expect(await drain(body)).toEqual({ text: '{"a":1}' });
  });

  test("a session stream is passed on in whole lines only", async () => {
    const body = new ForwardedBody(true, () => {});
    const reader = body.stream.getReader();
    const first = line(1, "session_init", { encryption: { enabled: false } });
    body.push(enc(first.slice(0, 10)));
    body.push(enc(first.slice(10) + line(2, "stdout", { chunk: "x" }).slice(0, 5)));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(first);
    reader.releaseLock();
  });

  test("a plaintext stream whose owner is lost ends with an error event at the next seq; a half line is dropped", async () => {
    const body = new ForwardedBody(true, () => {});
    const lines =
      line(1, "session_init", { encryption: { enabled: false } }) +
      line(2, "tool_call", { callId: "c1", toolName: "input", args: {} });
    body.push(enc(lines + line(3, "stdout").slice(0, 7)));
    body.lost("the owner stopped answering");
    const { text, error } = await drain(body);
    expect(error).toBeUndefined();
    const all = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(all[2]).toEqual({
      protocolVersion: 1,
      sessionId: "ses_aaaaaaaaaaaaaaaaaaaaaa",
      seq: 3,
      type: "error",
      payload: { message: "the owner stopped answering", code: OWNER_LOST_CODE },
    });
  });

  test("an encrypted stream whose owner is lost is broken off (the forwarder cannot seal an ending)", async () => {
    for (const lines of [
      line(1, "session_init", { encryption: { enabled: true } }),
      line(1, "session_init", { encryption: { enabled: true } }) +
        line(2, "enc", { kid: "k", nonceB64: "", ciphertextB64: "" }),
      line(5, "enc"),
    ]) {
      const body = new ForwardedBody(true, () => {});
      body.push(enc(lines));
      body.lost("gone");
      expect(await drain(body)).toEqual({ text: lines, error: "gone" });
    }
  });

  test("a stream lost before any whole line is broken off; one lost after its final just ends", async () => {
    const empty = new ForwardedBody(true, () => {});
    empty.lost("gone");
    expect(await drain(empty)).toEqual({ text: "", error: "gone" });
    const ended = new ForwardedBody(true, () => {});
    const lines =
      line(1, "session_init", { encryption: { enabled: false } }) +
      line(2, "final", { ok: true, stats: {} });
    ended.push(enc(lines));
    ended.lost("gone");
    expect(await drain(ended)).toEqual({ text: lines });
  });

  test("lines that are not events pass unchanged and teach the relay nothing", async () => {
    const body = new ForwardedBody(true, () => {});
    const lines =
      line(1, "session_init", { encryption: { enabled: false } }) +
      'null\n5\n"x"\n[1]\n{not json\n';
    body.push(enc(lines));
    body.lost("gone");
    const { text } = await drain(body);
    expect(text.startsWith(lines)).toBe(true);
    expect(JSON.parse(text.slice(lines.length))).toMatchObject({ seq: 2, type: "error" });
  });

  test("the client going away is passed on once, and nothing more is queued for it", async () => {
    let cancels = 0;
    const body = new ForwardedBody(true, () => cancels++);
    await body.stream.cancel();
    body.push(enc(line(1, "stdout")));
    body.lost("gone");
    body.end();
    expect(cancels).toBe(1);
  });
});
