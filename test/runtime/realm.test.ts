// The locked-down realm (src/runtime/lockdown.ts): code that slips past the validator through
// computed keys (e[["constructor"]] defeats any static check) still finds no code-from-text, no
// global object, no runtime hook and no way to plant a getter on a shared prototype.
import { describe, expect, test } from "bun:test";
import { runAgentScript, type RunResult } from "../../src/runtime/index.ts";

const C = `const c = [["constr", "uctor"].join("")];`;
const P = `const p = [["__pro", "to__"].join("")];`;
const limits = { cpuMs: 500, timeoutMs: 3_000 };
const value = async (
  code: string,
  toolHandler?: (name: string, args: unknown) => Promise<unknown>,
) => {
  const r: RunResult = await runAgentScript(code, {
    limits,
    ...(toolHandler ? { toolHandler } : {}),
  });
  return r.ok ? r.value : { failed: r.error.code, message: r.error.message };
};

describe("no source text becomes code", () => {
  const constructors = {
    "Function, from an arrow": `${C} return typeof (() => 0)[c];`,
    "AsyncFunction, from an async arrow": `${C} return typeof (async () => 0)[c];`,
    "Function, from a built-in method": `${C} return typeof [].map[c];`,
    "Function, through __proto__": `${C} ${P} return typeof (() => 0)[p][c];`,
    "Function, through getPrototypeOf": `${C} return typeof Object.getPrototypeOf(Math.max)[c];`,
    "Function, through a property descriptor": `${C} const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(() => 0), c); return typeof d.value;`,
    "Function, through a bound function": `${C} return typeof Math.max.bind(null)[c];`,
    "Function, from a caught error's constructor's constructor": `${C} try { null.x } catch (e) { return typeof e[c][c]; }`,
    "AsyncFunction, from a promise's then": `${C} const pr = callTool("t", {}); return typeof pr.then[c];`,
    "the constructor of Object's constructor": `${C} return typeof ({})[c][c];`,
  };
  for (const [name, code] of Object.entries(constructors)) {
    test(name, async () => {
      expect(await value(code, async () => ({}))).toBe("undefined");
    });
  }

  test("reassigning a prototype's constructor is refused", async () => {
    expect(
      await value(
        `${C} const proto = Object.getPrototypeOf(() => 0); try { proto[c] = 1; Object.defineProperty(proto, c, { value: 1 }); } catch (e) { return e.name; } return "changed";`,
      ),
    ).toBe("TypeError");
  });
});

describe("no global object, no hook", () => {
  test("nothing reachable names a runtime hook or the global object's other globals", async () => {
    // Walk everything the script can reach from its globals and values, collecting names.
    const names = await value(`
      ${C} ${P}
      const seen = [];
      const names = [];
      const roots = [Object, Array, String, Number, Boolean, Date, Math, JSON, callTool, console, () => 0, async () => 0, [], "", 0, /x/, callTool("t", {})];
      try { null.x } catch (e) { roots.push(e); }
      const visit = (v, depth) => {
        if (depth > 6 || v === null || (typeof v !== "object" && typeof v !== "function") || seen.includes(v)) return;
        seen.push(v);
        for (const k of Object.getOwnPropertyNames(v)) {
          names.push(k);
          const d = Object.getOwnPropertyDescriptor(v, k);
          if (d && "value" in d) visit(d.value, depth + 1);
        }
        visit(Object.getPrototypeOf(v), depth + 1);
      };
      for (const r of roots) visit(r, 0);
      return names.filter((n) => n.startsWith("__auditor") || ["globalThis", "eval", "Function", "Reflect", "Proxy", "WeakMap"].includes(n));
    `);
    expect(names).toEqual([]);
  });

  test("the globals that are left are exactly AgentScript's", async () => {
    // Reached the only way the validator allows: by name.
    const r = await value(
      `return [typeof Proxy, typeof Reflect, typeof Promise, typeof Symbol, typeof WeakMap, typeof globalThis, typeof eval].join()`,
    );
    expect(r).toMatchObject({ failed: "validation_error" });
  });

  test("a ref's id cannot be read, and a forged token is not a ref of this session", async () => {
    // A tool answer that is a ref token arrives in the sandbox as an opaque ref.
    const handler = async (name: string, args: unknown) =>
      name === "get" ? { $ref: { id: "ref_s3cr3tS3CR3Ts3cr3tS3" } } : args;
    const forged = await value(
      `const big = await callTool("get", {}); return await callTool("echo", { $ref: { id: "ref_AAAAAAAAAAAAAAAAAAAAAA" } });`,
      handler,
    );
    expect(forged).toEqual({ $ref: { id: "ref_AAAAAAAAAAAAAAAAAAAAAA" } }); // plain data in, plain data out
    for (const probe of [
      `JSON.stringify(big)`,
      `Object.keys(big)`,
      `String(big)`,
      `big.$ref`,
      `Object.getOwnPropertyDescriptor(big, "$ref")`,
    ]) {
      const r = await value(`const big = await callTool("get", {}); return ${probe};`, handler);
      expect(r).toMatchObject({ failed: "ref_access" });
      expect(JSON.stringify(r)).not.toContain("s3cr3t");
    }
  });
});

describe("shared intrinsics take no planted properties", () => {
  test("no getter, then or toJSON can be planted on a shared prototype or namespace", async () => {
    const attempts = [
      `Object.defineProperty(Object.getPrototypeOf({}), "then", { get: () => 1 })`,
      `Object.defineProperty(Object.getPrototypeOf([]), "toJSON", { value: () => 1 })`,
      `Object.getPrototypeOf(callTool("t", {})).then = () => 1`,
      `Object.defineProperty(Object.getPrototypeOf(Object.getPrototypeOf(callTool("t", {}))), "then", { get: () => 1 })`,
      `Object.defineProperty(JSON, "evil", { value: 1 })`,
      `Object.defineProperty(Object.getPrototypeOf(() => 0), "call", { get: () => 1 })`,
    ];
    for (const attempt of attempts) {
      const r = await value(
        `try { ${attempt}; } catch (e) { return e.name; } return [({}).then, [].toJSON, JSON.evil];`,
        async () => ({}),
      );
      expect(r === "TypeError" || JSON.stringify(r) === JSON.stringify([null, null, null])).toBe(
        true,
      );
    }
  });

  test("replacing a namespace's method changes only the script's own use of it", async () => {
    const echo = async (_name: string, args: unknown) => args;
    const r = await value(
      `JSON.stringify = () => "x"; JSON.parse = () => 1; Object.keys = () => []; const back = await callTool("echo", { a: [1, 2] }); return { back, n: back.a.length };`,
      echo,
    );
    expect(r).toEqual({ back: { a: [1, 2] }, n: 2 });
  });

  test("ordinary code is unaffected: own properties, spreads, JSON, dates", async () => {
    expect(
      await value(
        `const o = { a: 1 }; o.b = 2; const p = { ...o, c: 3 }; delete p.a; const d = new Date(0); return [p, JSON.stringify([o]), d.toISOString(), [3, 1, 2].sort()];`,
      ),
    ).toEqual([{ b: 2, c: 3 }, '[{"a":1,"b":2}]', "1970-01-01T00:00:00.000Z", [1, 2, 3]]);
  });
});
