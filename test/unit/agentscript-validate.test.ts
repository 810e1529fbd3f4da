import { describe, expect, test } from "bun:test";
import { AgentScriptValidationError, validateAgentScript } from "../../src/runtime/validate.ts";

function refusal(code: string) {
  try {
    validateAgentScript(code);
  } catch (err) {
    if (err instanceof AgentScriptValidationError)
      return { code: err.code, line: err.line, column: err.column, message: err.message };
    throw err;
  }
  return undefined;
}

describe("AgentScript validation", () => {
  test("ordinary scripts pass", () => {
    const ok = [
      "return 1 + 2;",
      "const r = await callTool('search', { q: 'x' }); return r.items.map((i) => i.title);",
      "let total = 0; for (const x of [1, 2, 3]) { total += x; } return total;",
      "for (let i = 0; i < 3; i++) { console.log(i); }",
      "try { await callTool('fail', {}); } catch (e) { return String(e.message); }",
      "const { a, b: [c, ...d], ...rest } = { a: 1, b: [2, 3], z: 4 }; return [a, c, d, rest];",
      "const when = new Date(0).toISOString(); return JSON.stringify({ when, n: Math.max(1, parseInt('2')) });",
      "const f = async (x = 1) => x * 2; return await f();",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: AgentScript source
      "if (isNaN(parseFloat('x'))) { return `template ${1 + 1}`; } else { return Object.keys({ a: 1 }); }",
    ];
    for (const code of ok) expect(refusal(code)).toBeUndefined();
  });

  const refused: [string, string, string][] = [
    ["eval('1')", "forbidden_identifier", "eval"],
    ["Function('return this')()", "forbidden_identifier", "Function"],
    ["return this", "forbidden_syntax", "this"],
    ["globalThis.x = 1", "forbidden_identifier", "globalThis"],
    ["const c = [].constructor", "forbidden_property", "constructor"],
    ["const c = ({})['__proto__']", "forbidden_property", "__proto__"],
    ["const p = Object.prototype", "forbidden_property", "prototype"],
    ["const c = ({})[`constructor`]", "forbidden_property", "constructor"],
    ["import('x')", "forbidden_syntax", "import"],
    ["with ({}) {}", "forbidden_syntax", "with"],
    ["while (true) {}", "forbidden_syntax", "while"],
    ["do {} while (false)", "forbidden_syntax", "do"],
    ["for (const k in {}) {}", "forbidden_syntax", "for … in"],
    ["function f() {}", "forbidden_syntax", "function declarations"],
    ["const f = function () {}", "forbidden_syntax", "function expressions"],
    ["const o = { get x() { return 1; } }", "forbidden_syntax", "getters"],
    ["const o = { m() {} }", "forbidden_syntax", "methods"],
    ["class A {}", "forbidden_syntax", "classes"],
    ["var x = 1", "forbidden_syntax", "var"],
    ["const p = new Proxy({}, {})", "forbidden_syntax", "new"],
    ["Reflect.ownKeys({})", "forbidden_identifier", "Reflect"],
    ["Symbol.iterator", "forbidden_identifier", "Symbol"],
    ["process.exit()", "forbidden_identifier", "process"],
    ["a: for (;;) {}", "forbidden_syntax", "labels"],
    ["const g = async () => { yield 1 }", "parse_error", ""],
    ["String.raw`x`", "forbidden_syntax", "tagged"],
  ];
  for (const [code, expected, mention] of refused) {
    test(`refuses: ${code}`, () => {
      const r = refusal(code);
      expect(r?.code as string | undefined).toBe(expected);
      expect(r!.message).toContain(mention);
    });
  }

  test("errors carry the line and column of the offending code", () => {
    expect(refusal("const a = 1;\nconst b = 2;\n  eval('x');")).toMatchObject({
      code: "forbidden_identifier",
      line: 3,
      column: 3,
    });
    expect(refusal("const a = ;")).toMatchObject({ code: "parse_error", line: 1 });
    expect(refusal("return 1;\n\n   this")).toMatchObject({ line: 3, column: 4 });
  });

  test("deeply nested input is refused, not a stack overflow", () => {
    const r = refusal(`return ${"[".repeat(2000)}${"]".repeat(2000)};`);
    expect(r).toBeDefined();
  });
});

describe("syntax errors point into the script, never into the wrapper around it", () => {
  test("on line 1, a middle line and the last line: the offending token's line and column", () => {
    expect(refusal("return 1 +;")).toMatchObject({ code: "parse_error", line: 1, column: 11 });
    expect(refusal("const a = 1;\nconst b = ;\nreturn a;")).toMatchObject({
      code: "parse_error",
      line: 2,
      column: 11,
    });
    expect(refusal("const a = 1;\nconst b = 2;\nreturn a +* b;")).toMatchObject({
      code: "parse_error",
      line: 3,
      column: 11,
    });
  });

  test("at the end of input: the bracket, substitution or string left open, or the last token", () => {
    const brace = refusal("const a = 1;\nif (a) {\n  return a;");
    expect(brace).toMatchObject({ code: "parse_error", line: 2, column: 8 });
    expect(brace!.message).toContain("the script ends before this `{` is closed");
    expect(refusal("return [1,\n  (2")).toMatchObject({ line: 2, column: 3 });
    expect(refusal("const a = {\n  b: 1,\n")).toMatchObject({ line: 1, column: 11 });
    expect(refusal("return `total: ${1 +")!.message).toContain("template substitution `${`");
    expect(refusal('const a = 1;\nconst s = "abc')).toMatchObject({
      line: 2,
      column: 11,
      message: expect.stringContaining("Unterminated string"),
    });
    expect(refusal("const a = 1;\nconst s = `abc")).toMatchObject({
      line: 2,
      column: 11,
      message: expect.stringContaining("Unterminated template"),
    });
    expect(refusal('const s = "abc\\')).toMatchObject({ line: 1, column: 11 });
    expect(refusal("const a = 1;\n/* never closed")).toMatchObject({ line: 2, column: 1 });
    const dangling = refusal("const a = 1;\nreturn a +");
    expect(dangling).toMatchObject({ line: 2, column: 11 });
    expect(dangling!.message).toContain("the script ends in the middle of a statement");
  });

  test("a closer with nothing open is refused where it stands, even when the rest would parse", () => {
    expect(refusal("return 1;\n}")).toMatchObject({
      code: "parse_error",
      line: 2,
      column: 1,
      message: expect.stringContaining("nothing is open here to close"),
    });
    // Closing the wrapper would run code outside it.
    expect(refusal('})(); console.log("outside"); (async () => {')).toMatchObject({
      code: "parse_error",
      line: 1,
      column: 1,
    });
    expect(refusal("const f = () => 1;\n});\n(async () => {")).toMatchObject({
      line: 2,
      column: 1,
    });
  });

  test("every truncation of real scripts fails inside the script's own lines", () => {
    const scripts = [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: AgentScript source
      "const users = await callTool('get_users', {});\nconst ids = users.map((u) => ({ id: u.id, tag: `u${u.id}` }));\nif (ids.length > 2) {\n  return [ids[0], \"many\"];\n}\nreturn ids;",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: AgentScript source
      "let total = 0;\nfor (const x of [1, [2, 3], { a: 4 }]) {\n  try { total += Number(x); } catch (e) { console.log(String(e)); }\n}\nreturn `${total}`;",
    ];
    let checked = 0;
    for (const script of scripts) {
      for (let end = 1; end < script.length; end++) {
        const code = script.slice(0, end);
        const r = refusal(code);
        if (r?.code !== "parse_error") continue;
        const lines = code.split("\n");
        expect({
          code,
          inside:
            r.line >= 1 &&
            r.line <= lines.length &&
            r.column >= 1 &&
            r.column <= lines[r.line - 1]!.length + 1,
        }).toEqual({ code, inside: true });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
