// The per-session tool-call ledger: answers are idempotent per callId, whoever sends them.
import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { defineTool, ToolRegistry } from "../../src/runtime/index.ts";
import { ToolAnswerError, ToolCallLedger } from "../../src/sessions/tool-calls.ts";
import { RefSidecar } from "../../src/sidecar/refs.ts";

const tools = new ToolRegistry([
  defineTool({
    name: "double",
    input: z.object({ n: z.number() }),
    output: z.number(),
    handler: async ({ n }) => n * 2,
  }),
]);
const BY_VALUE = { byRef: false };
const ledger = () => new ToolCallLedger(tools, new RefSidecar(), new AbortController().signal);

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ToolAnswerError) return { status: err.status, code: err.code };
    throw err;
  }
  throw new Error("expected a refusal");
};

describe("ToolCallLedger", () => {
  test("a broker answer is applied once; the same again is a no-op, a different one is refused", async () => {
    const l = ledger();
    expect(await l.handler("double", { n: 4 }, "call_1", BY_VALUE)).toBe(8);
    expect(l.apply("call_1", { ok: true, value: 8 }, "broker")).toBe(false);
    expect(refusal(() => l.apply("call_1", { ok: true, value: 9 }, "broker"))).toEqual({
      status: 409,
      code: "conflict",
    });
    expect(refusal(() => l.apply("call_1", { ok: false, message: "nope" }, "broker"))).toEqual({
      status: 409,
      code: "conflict",
    });
  });

  test("an answer kept by reference (its digest deferred) is still compared when it comes again", async () => {
    const users = new ToolRegistry([
      defineTool({
        name: "users",
        input: z.object({}),
        output: z.array(z.object({ id: z.number() })),
        handler: async () => [{ id: 1 }, { id: 2 }],
      }),
    ]);
    const sidecar = new RefSidecar();
    const l = new ToolCallLedger(users, sidecar, new AbortController().signal);
    const token = await l.handler("users", {}, "call_1", { byRef: true });
    expect(sidecar.resolveArgs(token, { name: "t", accepts: [] }).value).toEqual([
      { id: 1 },
      { id: 2 },
    ]);
    expect(l.apply("call_1", { ok: true, value: [{ id: 1 }, { id: 2 }] }, "broker", true)).toBe(
      false,
    );
    expect(
      refusal(() => l.apply("call_1", { ok: true, value: [{ id: 1 }, { id: 3 }] }, "broker", true)),
    ).toEqual({ status: 409, code: "conflict" });
    expect(refusal(() => l.apply("call_1", { ok: false, message: "nope" }, "broker"))).toEqual({
      status: 409,
      code: "conflict",
    });
  });

  test("deferred digests hold for values kept unreadable and for results of unreadable input", async () => {
    const registry = new ToolRegistry([
      defineTool({
        name: "secret",
        input: z.object({}),
        output: z.object({ key: z.string() }),
        runtimeReadable: false,
        handler: async () => ({ key: "k" }),
      }),
      defineTool({
        name: "wrap",
        input: z.object({ v: z.unknown() }),
        output: z.object({ v: z.unknown() }),
        acceptsNonReadable: ["v"],
        handler: async ({ v }) => ({ v }),
      }),
    ]);
    const l = new ToolCallLedger(registry, new RefSidecar(), new AbortController().signal);
    const token = await l.handler("secret", {}, "call_1", BY_VALUE);
    expect(l.apply("call_1", { ok: true, value: { key: "k" } }, "broker", true)).toBe(false);
    expect(
      refusal(() => l.apply("call_1", { ok: true, value: { key: "j" } }, "broker", true)),
    ).toEqual({ status: 409, code: "conflict" });
    await l.handler("wrap", { v: token }, "call_2", BY_VALUE); // tainted: kept unreadable
    expect(
      l.apply("call_2", { ok: true, value: { v: { key: "k" } }, tainted: true }, "broker", true),
    ).toBe(false);
    expect(
      refusal(() => l.apply("call_2", { ok: true, value: { v: { key: "k" } } }, "broker", true)),
    ).toEqual({ status: 409, code: "conflict" });
  });

  test("input answered before the run asked for it (the event raced ahead) is kept for the run", async () => {
    const l = ledger();
    l.open("call_1", "input");
    expect(l.provideInput("call_1", { a: 1, b: 2 })).toBe(true);
    expect(l.provideInput("call_1", { b: 2, a: 1 })).toBe(false); // same value, other key order
    expect(await l.handler("input", {}, "call_1", BY_VALUE)).toEqual({ a: 1, b: 2 });
  });

  test("input is refused for unknown calls, broker calls, and after the run ended", async () => {
    const l = ledger();
    expect(refusal(() => l.provideInput("call_7", 1))).toEqual({
      status: 404,
      code: "unknown_call",
    });
    await l.handler("double", { n: 1 }, "call_1", BY_VALUE);
    expect(refusal(() => l.provideInput("call_1", 2))).toEqual({ status: 409, code: "not_input" });
    const waiting = l.handler("input", {}, "call_2", BY_VALUE);
    l.close();
    expect(refusal(() => l.provideInput("call_2", "late"))).toEqual({
      status: 409,
      code: "session_ended",
    });
    const settled = await Promise.race([
      waiting.then(() => "settled"),
      Bun.sleep(20).then(() => "pending"),
    ]);
    expect(settled).toBe("pending"); // the ended run never reads it
  });

  test("a broker answer that lands after the run ended is dropped, not thrown", async () => {
    let release!: () => void;
    const slow = new ToolRegistry([
      defineTool({
        name: "slow",
        input: z.object({}),
        output: z.number(),
        handler: () => new Promise<number>((r) => (release = () => r(1))),
      }),
    ]);
    const l = new ToolCallLedger(slow, new RefSidecar(), new AbortController().signal);
    void l.handler("slow", {}, "call_1", BY_VALUE);
    await Bun.sleep(1);
    l.close();
    release();
    await Bun.sleep(1); // an unhandled rejection here would fail the test run
  });

  test("a result over the sidecar's limits fails the call clearly instead of growing the store", async () => {
    const big = new ToolRegistry([
      defineTool({
        name: "big",
        input: z.object({}),
        output: z.string(),
        handler: async () => "x".repeat(1_000),
      }),
    ]);
    const sidecar = new RefSidecar({ maxRefBytes: 100, maxTotalBytes: 1_000, maxRefs: 10 });
    const l = new ToolCallLedger(big, sidecar, new AbortController().signal);
    await expect(l.handler("big", {}, "call_1", { byRef: true })).rejects.toThrow(/at most 100/);
    expect(sidecar.size).toBe(0);
    expect(await l.handler("big", {}, "call_2", BY_VALUE)).toHaveLength(1_000); // read by the script: no ref needed
  });

  test("bad input args fail the call with a message naming the field", async () => {
    await expect(ledger().handler("input", { prompt: 5 }, "call_1", BY_VALUE)).rejects.toThrow(
      /prompt/,
    );
  });
});
