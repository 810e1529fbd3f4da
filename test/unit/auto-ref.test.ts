// The auto-ref pass: which `await callTool(…)` results stay references (never read, only passed
// on or returned) and which materialize. Conservative: anything else materializes.
import { describe, expect, test } from "bun:test";
import { planAutoRef } from "../../src/runtime/auto-ref.ts";
import { instrument } from "../../src/runtime/instrument.ts";
import { REF_CALL } from "../../src/runtime/ref-prelude.ts";
import { validateAgentScript } from "../../src/runtime/validate.ts";

/** "ref" or "materialize" for each callTool call, in source order. */
function classify(code: string): string[] {
  const { program } = validateAgentScript(code);
  const plan = planAutoRef(program);
  const start = (n: object) => (n as { start: number }).start;
  return [
    ...plan.refCalls.map((c) => [start(c), "ref"] as const),
    ...plan.materializedCalls.map((c) => [start(c), "materialize"] as const),
  ]
    .sort((a, b) => a[0] - b[0])
    .map(([, kind]) => kind);
}

const GET = "const users = await callTool('get_users', {});";

describe("auto-ref: pass-through becomes a reference", () => {
  test.each([
    [
      "the seed's script",
      `${GET} return await callTool('process_users', { users });`,
      ["ref", "ref"],
    ],
    [
      "passed as the whole args object",
      `${GET} await callTool('process_users', users); return 1;`,
      ["ref", "materialize"],
    ],
    [
      "nested in objects and arrays in args",
      `${GET} await callTool('x', { batch: [{ users }, [users]] }); return 1;`,
      ["ref", "materialize"],
    ],
    ["returned directly", `${GET} return users;`, ["ref"]],
    ["returned inside an object", `${GET} return { users, n: 1 };`, ["ref"]],
    [
      "an inline call as another call's args",
      `return await callTool('p', { users: await callTool('get_users', {}) });`,
      ["ref", "ref"],
    ],
    ["never used at all", `${GET} return 1;`, ["ref"]],
    [
      "passed through inside a closure",
      `${GET} const send = () => callTool('p', { users }); await send(); return 1;`,
      ["ref", "materialize"],
    ],
    [
      "used twice, both pass-through",
      `${GET} await callTool('a', { users }); await callTool('b', { users }); return 1;`,
      ["ref", "materialize", "materialize"],
    ],
  ])("%s", (_, code, expected) => {
    expect(classify(code as string)).toEqual(expected as string[]);
  });
});

describe("auto-ref: any read materializes", () => {
  test.each([
    ["property access", `${GET} return users.length;`],
    ["index access", `${GET} return users[0];`],
    [
      "destructuring the result",
      `const { users } = await callTool('get_users', {}); return users;`,
    ],
    ["destructuring the binding later", `${GET} const [first] = users; return first;`],
    ["array spread", `${GET} return [...users];`],
    ["object spread into args", `${GET} return await callTool('p', { ...users });`],
    ["method call", `${GET} return users.map((u) => u.id);`],
    ["iteration", `${GET} for (const u of users) { console.log(u); } return 1;`],
    ["strict comparison", `${GET} return users === null;`],
    ["branching on it", `${GET} if (users) { return 1; } return 2;`],
    ["conditional expression", `${GET} return users ? 1 : 2;`],
    ["string concatenation", `${GET} return "users: " + users;`],
    ["template literal", `${GET} return \`users: \${users}\`;`],
    ["console.log", `${GET} console.log(users); return 1;`],
    ["JSON.stringify", `${GET} return JSON.stringify(users);`],
    ["passed to a non-tool function", `${GET} const f = (u) => u; return f(users);`],
    [
      "used as a tool name",
      `const name = await callTool('pick', {}); return await callTool(name, {});`,
    ],
    ["returned from a nested arrow", `${GET} const f = () => { return users; }; return f();`],
    [
      "let that is reassigned",
      `let users = await callTool('get_users', {}); users = []; return users;`,
    ],
    [
      "assigned, not declared",
      `let users = 1; users = await callTool('get_users', {}); return users;`,
    ],
    ["not awaited", `const p = callTool('get_users', {}); return await p;`],
    ["computed property key in args", `${GET} return await callTool('p', { [users]: 1 });`],
  ])("%s", (_, code) => {
    expect(classify(code as string)[0]).toBe("materialize");
  });
});

describe("auto-ref: scopes", () => {
  test("a shadowing binding's reads do not count against the outer one", () => {
    expect(
      classify(
        `${GET} { const users = [1]; console.log(users.length); } return await callTool('p', { users });`,
      ),
    ).toEqual(["ref", "ref"]);
    expect(
      classify(`${GET} const f = (users) => users.length; return await callTool('p', { users });`),
    ).toEqual(["ref", "ref"]);
  });

  test("a read through a closure of the outer binding materializes", () => {
    expect(classify(`${GET} const count = () => users.length; return count();`)).toEqual([
      "materialize",
    ]);
  });

  test("a shadowed callTool is not the tool bridge: neither a candidate nor a pass-through target", () => {
    expect(
      classify(`${GET} { const callTool = (n, a) => a; return callTool('x', { users }); }`),
    ).toEqual(["materialize"]);
  });

  test("default values in destructuring patterns are reads", () => {
    expect(classify(`${GET} const { a = users } = {}; return a;`)).toEqual(["materialize"]);
  });
});

describe("instrument", () => {
  test("rewrites only the ref calls and wraps equality operands", () => {
    const { program, wrappedSource } = validateAgentScript(
      `${GET} const n = await callTool('count', {}); if (n === 2) { return await callTool('p', { users }); } return (1, n) != null;`,
    );
    const { source, refCalls } = instrument(wrappedSource, program);
    expect(refCalls).toBe(2);
    expect(source).toContain(`await ${REF_CALL}('get_users', {})`);
    expect(source).toContain(`await callTool('count', {})`);
    expect(source).toContain("__auditorRefCheck((n)) === __auditorRefCheck((2))");
    expect(source).toContain("(__auditorRefCheck((1, n))) != __auditorRefCheck((null))");
  });

  test("scripts cannot name or shadow the reserved helpers", () => {
    expect(() => validateAgentScript(`return ${REF_CALL}('x', {});`)).toThrow(/reserved/);
    expect(() => validateAgentScript(`const __auditorRefCheck = (v) => v; return 1;`)).toThrow(
      /reserved/,
    );
  });
});
