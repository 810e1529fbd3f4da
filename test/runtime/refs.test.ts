// References inside the sandbox: opaque values that can be passed to tools or returned, and
// nothing else. Each way of reading one ends the run with ref_access, uncatchably.
import { describe, expect, test } from "bun:test";
import { runAgentScript, type ToolHandler } from "../../src/runtime/index.ts";

const TOKEN = { $ref: { id: "ref_secret123" } };

function broker() {
  const seen: { name: string; args: unknown; byRef: boolean }[] = [];
  const handler: ToolHandler = async (name, args, _callId, { byRef }) => {
    seen.push({ name, args, byRef });
    if (name === "secret") return TOKEN;
    if (name === "record") return { user: "ada", password: TOKEN };
    return args;
  };
  return { seen, handler };
}

describe("opaque references", () => {
  test.each([
    ["property read", "return s.length;"],
    ["index read", "return s[0];"],
    ["array spread", "return [...s];"],
    ["object spread", "return { ...s };"],
    ["destructuring", "const { a } = s; return a;"],
    ["Object.keys", "return Object.keys(s);"],
    ["in operator", `return "a" in s;`],
    ["write", "s.a = 1; return 1;"],
    ["string concatenation", `return "x" + s;`],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: AgentScript source
    ["template literal", "return `${s}`;"],
    ["relational comparison", "return s < 1;"],
    ["loose equality", `return s == "x";`],
    ["strict equality", `return s === "hunter2";`],
    ["strict inequality on the right", `return "hunter2" !== s;`],
    ["switch", `switch (s) { case "a": return 1; } return 2;`],
    ["iteration", "for (const x of s) { console.log(x); } return 1;"],
    ["console.log", "console.log(s); return 1;"],
    ["console.log nested", "console.log({ a: [s] }); return 1;"],
    ["JSON.stringify", "return JSON.stringify(s);"],
    ["String()", "return String(s);"],
    [
      "a caught read still ends the run",
      "try { s.x; } catch (e) { return 'swallowed'; } return 1;",
    ],
  ])("%s fails with ref_access", async (_, body) => {
    const { handler } = broker();
    const r = await runAgentScript(`const s = await callTool("secret", {}); ${body}`, {
      toolHandler: handler,
    });
    expect(r).toMatchObject({ ok: false, error: { code: "ref_access" } });
  });

  test("a script that replaced JSON and Object before the first ref arrived changes nothing", async () => {
    const { handler, seen } = broker();
    const tamper = `JSON.parse = (t) => ({ $ref: "fake" }); JSON.stringify = () => "{}"; Object.keys = () => []; Array.isArray = () => true;`;
    const read = await runAgentScript(
      `${tamper} const early = 1 === 1; const s = await callTool("secret", {}); return s.x;`,
      { toolHandler: handler },
    );
    expect(read).toMatchObject({ ok: false, error: { code: "ref_access" } });
    const passed = await runAgentScript(
      `${tamper} const s = await callTool("secret", {}); await callTool("echo", { s }); return s;`,
      { toolHandler: handler },
    );
    expect(passed).toMatchObject({ ok: true, value: TOKEN });
    expect(seen.at(-1)!.args).toEqual({ s: TOKEN });
  });

  test("refs pass into tool args (anywhere) and back out of the script as tokens", async () => {
    const { handler, seen } = broker();
    const r = await runAgentScript(
      `const s = await callTool("secret", {}); const echoed = await callTool("echo", { deep: [{ s }], also: s }); const t = await s; return { s: t, n: typeof s };`,
      { toolHandler: handler },
    );
    expect(r).toMatchObject({ ok: true, value: { s: TOKEN, n: "object" } });
    expect(seen[1]!.args).toEqual({ deep: [{ s: TOKEN }], also: TOKEN });
  });

  test("a redacted field is a ref; the rest of the record reads normally", async () => {
    const { handler, seen } = broker();
    const ok = await runAgentScript(
      `const r = await callTool("record", {}); await callTool("login", { user: r.user, password: r.password }); return r.user;`,
      { toolHandler: handler },
    );
    expect(ok).toMatchObject({ ok: true, value: "ada" });
    expect(seen[1]!.args).toEqual({ user: "ada", password: TOKEN });
    const leak = await runAgentScript(
      `const r = await callTool("record", {}); return r.password + "";`,
      { toolHandler: handler },
    );
    expect(leak).toMatchObject({ ok: false, error: { code: "ref_access" } });
  });

  test("the handler learns which calls the auto-ref pass made by-reference", async () => {
    const { handler, seen } = broker();
    await runAgentScript(
      `const users = await callTool("a", {}); const n = await callTool("b", {}); return await callTool("c", { users, n: n.x });`,
      { toolHandler: handler },
    );
    expect(seen.map((c) => [c.name, c.byRef])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
    ]);
  });

  test("sandboxBytesIn counts what entered the sandbox: a token, not the value", async () => {
    const big = "x".repeat(100_000);
    const handler: ToolHandler = async (_name, _args, _id, { byRef }) => (byRef ? TOKEN : big);
    const passed = await runAgentScript(
      `const v = await callTool("get", {}); return await callTool("put", { v });`,
      { toolHandler: handler },
    );
    const read = await runAgentScript(`const v = await callTool("get", {}); return v.length;`, {
      toolHandler: handler,
    });
    expect(passed.stats.sandboxBytesIn).toBeLessThan(200);
    expect(read.stats.sandboxBytesIn).toBeGreaterThan(100_000);
  });

  test("a tool's plain data shaped like a token stays data only when it has extra keys", async () => {
    const handler: ToolHandler = async () => ({ $ref: { id: "ref_a", extra: 1 } });
    expect(
      await runAgentScript(`const v = await callTool("x", {}); return v.$ref.extra;`, {
        toolHandler: handler,
      }),
    ).toMatchObject({ ok: true, value: 1 });
  });
});
