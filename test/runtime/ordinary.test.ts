// Ordinary AgentScript: what LLM-written scripts do all day must simply work.
import { describe, expect, test } from "bun:test";
import { z } from "zod";
import {
  defineTool,
  runAgentScript,
  ToolCallError,
  ToolRegistry,
  type RunEvent,
} from "../../src/runtime/index.ts";

const tools = new ToolRegistry(
  [
    defineTool({
      name: "search",
      input: z
        .object({ q: z.string(), limit: z.number().int().min(1).max(10).default(3) })
        .strict(),
      output: z.object({ items: z.array(z.object({ title: z.string(), score: z.number() })) }),
      handler: async ({ q, limit }) => ({
        items: Array.from({ length: limit }, (_, i) => ({
          title: `${q} ${i + 1}`,
          score: (i + 1) / 10,
        })),
      }),
    }),
    defineTool({
      name: "fail",
      input: z.object({}).strict(),
      output: z.object({}),
      handler: async () => {
        throw new Error("db password is hunter2 at /srv/secret/path");
      },
    }),
    defineTool({
      name: "refuse",
      input: z.object({}).strict(),
      output: z.object({}),
      handler: async () => {
        throw new ToolCallError("quota exceeded, try later", "tool_failed");
      },
    }),
    defineTool({
      name: "slow",
      input: z.object({ ms: z.number() }),
      output: z.object({ waited: z.number() }),
      timeoutMs: 50,
      handler: async ({ ms }) => (await Bun.sleep(ms), { waited: ms }),
    }),
    defineTool({
      name: "liar",
      input: z.object({}),
      output: z.object({ n: z.number() }),
      handler: async () => ({ n: "not a number" }) as unknown as { n: number },
    }),
    defineTool({
      name: "secretive",
      input: z.object({}),
      output: z.object({ hasKey: z.boolean(), other: z.boolean() }),
      secrets: ["SEARCH_KEY"],
      handler: async (_args, ctx) => ({
        hasKey: ctx.secrets.SEARCH_KEY === "k-123",
        other: "OTHER" in ctx.secrets,
      }),
    }),
  ],
  { SEARCH_KEY: "k-123", OTHER: "nope" },
);

const run = (code: string, events?: RunEvent[]) =>
  runAgentScript(code, { tools, onEvent: (e) => events?.push(e) });

describe("ordinary scripts", () => {
  test("loops over tool results, map/filter/reduce", async () => {
    const r = await run(`
      const { items } = await callTool("search", { q: "jellyfish", limit: 5 });
      const titles = items.filter((i) => i.score > 0.2).map((i) => i.title.toUpperCase());
      const total = items.reduce((sum, i) => sum + i.score, 0);
      return { titles, total: Math.round(total * 10) / 10 };
    `);
    expect(r).toMatchObject({
      ok: true,
      value: { titles: ["JELLYFISH 3", "JELLYFISH 4", "JELLYFISH 5"], total: 1.5 },
    });
    expect(r.stats.toolCallCount).toBe(1);
  });

  test("JSON, string building and template literals", async () => {
    const r = await run(`
      let out = "";
      for (let i = 0; i < 3; i++) { out += \`[\${i}]\`; }
      const parsed = JSON.parse(JSON.stringify({ out, when: new Date(0).toISOString() }));
      return parsed.out + " " + parsed.when + " " + String(parseInt("42", 10) + parseFloat("0.5"));
    `);
    expect(r).toMatchObject({ ok: true, value: "[0][1][2] 1970-01-01T00:00:00.000Z 42.5" });
  });

  test("try/catch around a failing tool sees a safe message, never host details", async () => {
    const r = await run(`
      const seen = [];
      try { await callTool("fail", {}); } catch (e) { seen.push(e.name + ": " + e.message); }
      try { await callTool("refuse", {}); } catch (e) { seen.push(e.message); }
      try { await callTool("nope", {}); } catch (e) { seen.push(e.message); }
      try { await callTool("search", { q: 1 }); } catch (e) { seen.push(e.message); }
      try { await callTool("slow", { ms: 500 }); } catch (e) { seen.push(e.message); }
      try { await callTool("liar", {}); } catch (e) { seen.push(e.message); }
      return seen;
    `);
    expect(r.ok).toBe(true);
    const seen = (r as { value: string[] }).value;
    expect(seen[0]).toBe("ToolError: fail failed");
    expect(seen[1]).toBe("quota exceeded, try later");
    expect(seen[2]).toBe('unknown tool "nope"');
    expect(seen[3]).toStartWith("invalid arguments for search: q:");
    expect(seen[4]).toBe("slow timed out after 50 ms");
    expect(seen[5]).toBe("liar returned a result that does not match its schema");
    expect(JSON.stringify(r)).not.toContain("hunter2");
  });

  test("sequential and concurrent tool calls", async () => {
    const events: RunEvent[] = [];
    const r = await run(
      `
      const a = callTool("search", { q: "a", limit: 1 });
      const b = callTool("search", { q: "b", limit: 1 });
      const both = [await a, await b].map((x) => x.items[0].title);
      const c = await callTool("search", { q: "c", limit: 1 });
      return [...both, c.items[0].title];
    `,
      events,
    );
    expect(r).toMatchObject({ ok: true, value: ["a 1", "b 1", "c 1"] });
    expect(
      events.filter((e) => e.type === "tool_call").map((e) => (e as { callId: string }).callId),
    ).toEqual(["call_1", "call_2", "call_3"]);
    expect(events.filter((e) => e.type === "tool_result_applied")).toHaveLength(3);
  });

  test("console.log is stdout; debug, info, warn and error are log events of their level", async () => {
    const events: RunEvent[] = [];
    const r = await run(
      `console.log("hello", { a: 1 }, [2]); console.warn("careful"); console.info("n", 5); console.debug({ x: 1 }, { y: 2 }); console.error("bad", { code: 7 }); return null;`,
      events,
    );
    // The limit counts each call's printed line, as it always has.
    expect(r).toMatchObject({
      ok: true,
      value: null,
      stats: { stdoutBytes: 18 + 8 + 4 + 16 + 15 },
    });
    expect(events).toEqual([
      { type: "stdout", chunk: 'hello {"a":1} [2]\n' },
      { type: "log", level: "warn", message: "careful" },
      { type: "log", level: "info", message: "n", data: { args: [5] } },
      { type: "log", level: "debug", message: '{"x":1}', data: { y: 2 } },
      { type: "log", level: "error", message: "bad", data: { code: 7 } },
    ]);
  });

  test("a tool sees only the secrets it declares", async () => {
    expect(await run(`return await callTool("secretive", {});`)).toMatchObject({
      ok: true,
      value: { hasKey: true, other: false },
    });
  });

  test("a toolHandler can stand in for a registry", async () => {
    const r = await runAgentScript(`return (await callTool("x", { n: 2 })).n * 21`, {
      toolHandler: async (_name, args) => args,
    });
    expect(r).toMatchObject({ ok: true, value: 42 });
  });

  test("an uncaught error and a script with no return", async () => {
    expect(await run(`const o = null; return o.x;`)).toMatchObject({
      ok: false,
      error: { code: "script_error" },
    });
    expect(await run(`const x = 1;`)).toMatchObject({ ok: true, value: undefined });
  });

  test("validation errors name line and column and nothing runs", async () => {
    const events: RunEvent[] = [];
    const r = await run(`console.log("never");\nconst x = 1;\nwhile (x) {}`, events);
    expect(r).toMatchObject({ ok: false, error: { code: "validation_error" } });
    expect((r as { error: { message: string } }).error.message).toContain("(line 3, column 1)");
    expect(events).toEqual([]);
  });
});
