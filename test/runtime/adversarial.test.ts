// Adversarial AgentScript, grouped by attack family. Each script must be refused by the
// validator or fail safely inside QuickJS; afterwards the host's globals and prototypes are
// unchanged and the host still runs scripts.
import { describe, expect, test } from "bun:test";
import { runAgentScript, type RunResult } from "../../src/runtime/index.ts";

const K = `const k = "constr" + "uctor";`; // computed keys slip past the validator: the sandbox must hold

const families: Record<string, string[]> = {
  "constructor chains": [
    `return [].constructor.constructor("return this")()`,
    `${K} return [][k][k]("return typeof process + typeof Bun + typeof require")()`,
    `${K} const F = (() => 0)[k]; return F("return globalThis.Bun === undefined && typeof process === 'undefined'")()`,
    `${K} const AsyncF = (async () => 0)[k]; return await AsyncF("return typeof fetch")()`,
  ],
  "prototype pollution": [
    `const p = "__pro" + "to__"; ({})[p].polluted = "yes"; return ({}).polluted`,
    `${K} const O = ({})[k]; O["proto" + "type"].hacked = 1; return 1`,
    `${K} Object.assign(Object[["proto", "type"].join("")], { toString: () => "pwned" }); return String({})`,
    `Array["proto" + "type"].map = () => "pwned"; return [1].map((x) => x)`,
  ],
  "global access": [
    `return globalThis`,
    `const g = (0, eval)("this"); return g`,
    `return typeof process`,
    `${K} const g = [][k][k]("return this")(); return Object.keys(g).filter((x) => !["console", "callTool"].includes(x))`,
    `${K} return [][k][k]("return typeof std + typeof os + typeof scriptArgs")()`,
  ],
  "eval/Function": [
    `eval("1+1")`,
    `return Function("return 1")()`,
    `${K} return [][k][k]("return eval('typeof require')")()`,
  ],
  "Symbol/Reflect/Proxy": [
    `return Reflect.ownKeys(globalThis)`,
    `return new Proxy({}, {})`,
    `const s = Symbol.for("x"); return s`,
    `${K} const R = [][k][k]("return Reflect")(); return R.ownKeys(R.getPrototypeOf([]))`,
  ],
  "getters/setters": [
    `const o = { get x() { return 1 } }; return o.x`,
    `Object.defineProperty(Object, "x", { get: () => 1 }); return 1`,
    `const o = {}; o.__defineGetter__("x", () => 1); return o.x`,
  ],
  "error-stack tricks": [
    `try { null.x } catch (e) { return e.stack }`,
    `${K} try { null.x } catch (e) { return e[k][k]("return typeof process")() }`,
    `try { await callTool("boom", {}) } catch (e) { return [e.message, e.stack, Object.keys(e)] }`,
  ],
  "async/promise abuse": [
    `const run = async () => { for (;;) { await 0 } }; await run();`,
    `const spin = () => callTool("t", {}).then(spin); spin(); await callTool("never", {});`,
    `const ps = []; for (let i = 0; i < 1000000; i++) { ps.push((async () => i)()); } return ps.length`,
  ],
  "CPU exhaustion": [
    `for (;;) {}`,
    `let x = 0; for (let i = 0; i < 1e12; i++) { x += i } return x`,
    `const f = (n) => n < 2 ? n : f(n - 1) + f(n - 2); return f(60)`,
  ],
  "memory exhaustion": [
    `let s = "x"; for (;;) { s = s + s }`,
    `const a = []; for (;;) { a.push({ a: [1, 2, 3], b: "bbbbbbbbbbbbbbbbbbbbbbbb" }) }`,
    `return new Array(1e9).fill(0)`,
    `const f = (n) => f(n + 1) + 1; return f(0)`,
    `return "x".repeat(2 ** 29)`,
  ],
  ReDoS: [
    `return /^(a+)+$/.test("a".repeat(40) + "b")`,
    `return "a".repeat(50000).replace(/(a|aa)+$/g, "")`,
  ],
  "unicode obfuscation": [
    `return \\u0065val("1")`,
    `return th\\u0069s`,
    `const o = {}; return o["\\u0063onstructor"]`,
    `return globalTh\\u{69}s`,
  ],
  "tool-result poisoning": [
    `const r = await callTool("poison", {}); return [typeof r.__proto__, r.constructor === Object, Object.keys(r)]`,
    `const r = await callTool("poison", {}); return r.toString === Object.prototype.toString`,
    `const r = await callTool("huge", {}); return r.length`,
    `const r = await callTool("cyclic", {}); return r`,
  ],
  "known vm2/node:vm CVE patterns": [
    `const err = new Error(); err.name = { toString: () => { return 1 } }; return err.stack`,
    `${K} const hostFn = (await callTool("fnref", {})); return typeof hostFn === "object" ? hostFn[k] : hostFn`,
    `${K} try { const p = Promise.reject(new Error()); await p } catch (e) { return e[k][k]("return process")() }`,
    `${K} const s = Symbol; return typeof s`,
    `const h = { get: () => 1 }; return h.get()`,
  ],
};

const hostSnapshot = () => ({
  objectProto: Object.getOwnPropertyNames(Object.prototype).sort().join(),
  arrayProto: Object.getOwnPropertyNames(Array.prototype).sort().join(),
  functionProto: Object.getOwnPropertyNames(Function.prototype).sort().join(),
  globals: Object.getOwnPropertyNames(globalThis).sort().join(),
  arrayMap: Array.prototype.map,
  toString: Object.prototype.toString,
});
const before = hostSnapshot();

const toolHandler = async (name: string) => {
  if (name === "boom") throw new Error("host secret /etc/shadow");
  if (name === "never") return new Promise(() => {});
  if (name === "poison")
    return JSON.parse(
      '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}, "toString": "nope"}',
    );
  if (name === "huge") return "y".repeat(3 * 1024 * 1024);
  if (name === "cyclic") {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  }
  if (name === "fnref") return { f: () => process.exit(1) };
  return {};
};

const leaks = /\/work\/|node_modules|host secret|\/etc\/shadow|at .*\.ts:/;

describe("adversarial AgentScript", () => {
  test("code that closes the wrapper around the script is refused before anything runs", async () => {
    const printed: unknown[] = [];
    const r = await runAgentScript('})(); console.log("outside the wrapper"); (async () => {', {
      onEvent: (e) => void printed.push(e),
    });
    expect(r).toMatchObject({
      ok: false,
      error: { code: "validation_error", message: expect.stringContaining("(line 1, column 1)") },
    });
    expect(printed).toEqual([]);
  });

  for (const [family, scripts] of Object.entries(families)) {
    describe(family, () => {
      scripts.forEach((code, i) => {
        test(`#${i + 1}`, async () => {
          const r: RunResult = await runAgentScript(code, {
            toolHandler,
            limits: { cpuMs: 300, timeoutMs: 2_000, memoryBytes: 16 * 1024 * 1024 },
          });
          const text = JSON.stringify(r);
          expect(text).not.toMatch(leaks);
          if (r.ok) {
            // Succeeding is acceptable only when nothing of the host came back. (A script may
            // pollute its own realm's prototypes; each run gets a fresh one, tested below.)
            expect(text).not.toMatch(
              /"(function|object)(function|object|undefined)*"|process|Bun\b/,
            );
          }
          expect((globalThis as Record<string, unknown>).polluted).toBeUndefined();
          expect(({} as Record<string, unknown>).hacked).toBeUndefined();
        });
      });
    });
  }

  test("pollution of one run's realm never reaches the next run", async () => {
    await runAgentScript(
      `Array["proto" + "type"].map = () => "pwned"; Object["proto" + "type"].polluted = 1; return 1`,
    );
    expect(
      await runAgentScript(`return [[1].map((x) => x + 1), ({}).polluted === undefined]`),
    ).toMatchObject({ ok: true, value: [[2], true] });
  });

  test("the host's globals and prototypes are unchanged, and the host still runs scripts", async () => {
    expect(hostSnapshot()).toEqual(before);
    expect(await runAgentScript("return [1, 2, 3].map((x) => x * 2)")).toMatchObject({
      ok: true,
      value: [2, 4, 6],
    });
  });
});
