import { describe, expect, test } from "bun:test";
import {
  EventPayloads,
  SessionEventSchema,
  StartSessionRequestSchema,
  type EventType,
} from "../../sdk/wire/sessions.ts";
import { compiled } from "../../src/runtime/compiled-schema.ts";
import { demoTools } from "../../src/sessions/demo-tools.ts";
import { runAgentScript, ToolRegistry } from "../../src/runtime/index.ts";

describe("session wire schemas", () => {
  test("start requests: protocolVersion 1, code, known limits only", () => {
    expect(
      StartSessionRequestSchema.safeParse({ protocolVersion: 1, code: "return 1" }).success,
    ).toBe(true);
    expect(
      StartSessionRequestSchema.safeParse({ protocolVersion: 2, code: "return 1" }).error?.issues[0]
        ?.message,
    ).toBe("must be 1");
    expect(StartSessionRequestSchema.safeParse({ protocolVersion: 1, code: "" }).success).toBe(
      false,
    );
    expect(
      StartSessionRequestSchema.safeParse({
        protocolVersion: 1,
        code: "x",
        limits: { maxToolCalls: 5, bogus: 1 },
      }).success,
    ).toBe(false);
  });

  test("events: the envelope and each type's payload are checked", () => {
    const base = { protocolVersion: 1, sessionId: "s", seq: 1 };
    expect(
      SessionEventSchema.safeParse({
        ...base,
        type: "heartbeat",
        payload: { ts: "2026-01-01T00:00:00Z" },
      }).success,
    ).toBe(true);
    expect(
      SessionEventSchema.safeParse({
        ...base,
        type: "final",
        payload: {
          ok: true,
          result: 1,
          stats: { durationMs: 1, toolCallCount: 0, stdoutBytes: 0, sandboxBytesIn: 0, cpuMs: 0 },
        },
      }).success,
    ).toBe(true);
    expect(
      SessionEventSchema.safeParse({ ...base, type: "final", payload: { ok: true } }).success,
    ).toBe(false);
    expect(
      SessionEventSchema.safeParse({ ...base, seq: 0, type: "heartbeat", payload: { ts: "x" } })
        .success,
    ).toBe(false);
    expect(SessionEventSchema.safeParse({ ...base, type: "nope", payload: {} }).success).toBe(
      false,
    );
  });

  test("the compiled payload schemas the server emits through refuse exactly what zod refuses", () => {
    const stats = { durationMs: 1, toolCallCount: 0, stdoutBytes: 0, sandboxBytesIn: 0, cpuMs: 0 };
    const hostile: unknown[] = [
      { chunk: "x" },
      { chunk: 1 },
      { level: "info", message: "m" },
      { level: "fatal", message: "m" },
      { level: "warn", message: "m", data: { a: [1] } },
      { level: "warn", message: "m", data: [1] },
      { callId: "c", toolName: "t", args: { deep: [null] } },
      { callId: "c", toolName: "t" },
      { ok: true, result: 1, stats },
      { ok: true, stats: { ...stats, cpuMs: -1 } },
      { ok: "yes", stats },
      { ok: false, error: { code: "x", message: "y", extra: 1 }, stats },
      { ts: "t" },
      { ts: "t", more: 1 },
      { message: "m", code: "c" },
      JSON.parse('{"callId":"c","__proto__":{"polluted":true}}'),
      Object.assign(Object.create({ chunk: "inherited" }), {}),
      null,
      [],
      "chunk",
    ];
    for (const type of Object.keys(EventPayloads) as EventType[]) {
      const schema = EventPayloads[type];
      for (const value of hostile) {
        const expected = schema.safeParse(value);
        const got = compiled(schema).safeParse(value);
        expect(got.success).toBe(expected.success);
        if (expected.success) expect(got.data).toEqual(expected.data);
        else
          expect(got.error!.issues.map((i) => [i.path, i.code])).toEqual(
            expected.error.issues.map((i) => [i.path, i.code]),
          );
      }
    }
  });
});

describe("demo tools", () => {
  test("the seed's example script runs unchanged", async () => {
    const r = await runAgentScript(
      "const users = await callTool('get_users', {}); return await callTool('process', { users });",
      { tools: new ToolRegistry(demoTools()) },
    );
    expect(r).toMatchObject({ ok: true, value: { count: 3, ids: [1, 2, 3] } });
  });

  test("get_users count, process_users, echo", async () => {
    const tools = new ToolRegistry(demoTools());
    expect(await tools.call("get_users", { count: 1 })).toEqual([
      { id: 1, name: "Ada", email: "ada@example.com" },
    ]);
    expect(await tools.call("process_users", { users: [] })).toEqual({ count: 0, ids: [] });
    expect(await tools.call("echo", { any: ["thing"] })).toEqual({ any: ["thing"] });
    await expect(tools.call("get_users", { count: -1 })).rejects.toThrow(
      "invalid arguments for get_users",
    );
  });
});
