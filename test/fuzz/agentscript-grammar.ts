// Generators for the AgentScript fuzz target. Programs are drawn as a tree of choices and then
// written out with the names actually in scope, so they pass the validator and run: the share
// that reaches the sandbox is what the target measures. Hostile fragments come in families,
// each with the failure code it must produce; a hostile case is a harmless prefix (it can
// neither end the run nor throw nor use up a limit) followed by one fragment, so the code the
// run ends with is the fragment's.
import fc from "fast-check";
import type { Limits, RunErrorCode, ToolHandler } from "../../src/runtime/index.ts";

/** The limits every fuzz run gets (a family may tighten one). */
export const FUZZ_LIMITS: Partial<Limits> = {
  cpuMs: 50,
  timeoutMs: 1_000,
  memoryBytes: 8 * 2 ** 20,
  maxToolCalls: 20,
};

/** The fuzz tools: echo and get_users work, nope fails, secret is a ref, hang never answers. */
export const fuzzTools: ToolHandler = async (name, args) => {
  if (name === "secret") return { $ref: { id: "ref_fuzz" } };
  if (name === "nope") throw new Error("no such tool");
  if (name === "hang") return new Promise(() => {});
  if (name === "get_users")
    return [
      { id: 1, name: "ada" },
      { id: 2, name: "grace" },
    ];
  return args;
};

type Expr =
  | { k: "lit"; v: string }
  | { k: "var"; i: number }
  | { k: "bin"; op: string; a: Expr; b: Expr }
  | { k: "member"; m: string; a: Expr }
  | { k: "call"; f: string; a: Expr }
  | { k: "tool"; t: string; a: Expr }
  | { k: "arr"; items: Expr[] }
  | { k: "obj"; a: Expr; b: Expr }
  | { k: "tpl"; a: Expr }
  | { k: "map"; a: Expr };

type Stmt =
  | { k: "decl"; mutable: boolean; e: Expr }
  | { k: "assign"; i: number; e: Expr }
  | { k: "log"; level: string; args: Expr[] }
  | { k: "if"; c: Expr; then: Stmt[]; otherwise: Stmt[] }
  | { k: "for"; body: Stmt[] }
  | { k: "forof"; e: Expr; body: Stmt[] }
  | { k: "try"; body: Stmt[] }
  | { k: "expr"; e: Expr };

const literal = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom("null", "true", "false", "[]", "({})", "undefined", "NaN", "0.5", "[1, 2, 3]"),
  fc.constant(`({ a: 1, b: "x" })`),
);

/** Operations that never throw on JSON-like values (and one that may, which the writer guards). */
const OPS = ["+", "-", "*", "===", "!==", "<", ">=", "&&", "||", "??"];
const SAFE_MEMBERS = ["?.length", "?.[0]", "?.a", "?.name", "?.v"];
const RISKY_MEMBERS = [".length", "[0].id", ".a.b"];
const SAFE_CALLS = [
  "JSON.stringify",
  "String",
  "Number",
  "Boolean",
  "Array.isArray",
  "isNaN",
  "Math.abs",
  "Object.keys",
];

/** Mostly `common`, sometimes `rare`. */
const mostly = (common: string[], rare: string[], weight: number) =>
  fc.oneof(
    { weight, arbitrary: fc.constantFrom(...common) },
    { weight: 1, arbitrary: fc.constantFrom(...rare) },
  );
const RISKY_CALLS = ["JSON.parse"];

const exprTree: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    literal.map((v) => ({ k: "lit" as const, v })),
    fc.nat().map((i) => ({ k: "var" as const, i })),
    fc.nat().map((i) => ({ k: "var" as const, i })),
    fc.record({
      k: fc.constant("bin" as const),
      op: fc.constantFrom(...OPS),
      a: tie("e"),
      b: tie("e"),
    }),
    fc.record({
      k: fc.constant("member" as const),
      m: mostly(SAFE_MEMBERS, RISKY_MEMBERS, 12),
      a: tie("e"),
    }),
    fc.record({
      k: fc.constant("call" as const),
      f: mostly(SAFE_CALLS, RISKY_CALLS, 16),
      a: tie("e"),
    }),
    fc.record({
      k: fc.constant("tool" as const),
      t: mostly(["echo", "get_users"], ["nope", "secret"], 16),
      a: tie("e"),
    }),
    fc.record({ k: fc.constant("arr" as const), items: fc.array(tie("e"), { maxLength: 3 }) }),
    fc.record({ k: fc.constant("obj" as const), a: tie("e"), b: tie("e") }),
    fc.record({ k: fc.constant("tpl" as const), a: tie("e") }),
    fc.record({ k: fc.constant("map" as const), a: tie("e") }),
  ),
})).e;

const stmtTree: fc.Arbitrary<Stmt> = fc.letrec<{ s: Stmt }>((tie) => {
  const block = fc.array(tie("s"), { maxLength: 3 });
  return {
    s: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.record({ k: fc.constant("decl" as const), mutable: fc.boolean(), e: exprTree }),
      fc.record({ k: fc.constant("decl" as const), mutable: fc.boolean(), e: exprTree }),
      fc.record({ k: fc.constant("assign" as const), i: fc.nat(), e: exprTree }),
      fc.record({
        k: fc.constant("log" as const),
        level: fc.constantFrom("log", "info", "warn", "error", "debug"),
        args: fc.array(exprTree, { maxLength: 3 }),
      }),
      // biome-ignore lint/suspicious/noThenProperty: a plain record of an if statement, never awaited
      fc.record({ k: fc.constant("if" as const), c: exprTree, then: block, otherwise: block }),
      fc.record({ k: fc.constant("for" as const), body: block }),
      fc.record({ k: fc.constant("forof" as const), e: exprTree, body: block }),
      fc.record({ k: fc.constant("try" as const), body: block }),
      fc.record({ k: fc.constant("expr" as const), e: exprTree }),
    ),
  };
}).s;

interface Scope {
  vars: { name: string; mutable: boolean }[];
}

/**
 * Writes the tree out. `safe` keeps to what can neither throw nor end the run nor use up a
 * limit (a hostile case's prefix): no risky members or calls, no failing or secret tools, at
 * most a few tool calls and no loops around them.
 */
class Writer {
  private names = 0;
  private toolCalls = 0;
  /** Inside an arrow function: `await` is not allowed there. */
  private arrows = 0;
  constructor(private readonly safe: boolean) {}

  private fresh(prefix: string): string {
    return `${prefix}${this.names++}`;
  }

  expr(e: Expr, scope: Scope): string {
    switch (e.k) {
      case "lit":
        return e.v;
      case "var":
        return scope.vars.length === 0 ? "1" : scope.vars[e.i % scope.vars.length]!.name;
      case "bin":
        return `(${this.expr(e.a, scope)} ${e.op} ${this.expr(e.b, scope)})`;
      case "member": {
        const member = this.safe && RISKY_MEMBERS.includes(e.m) ? SAFE_MEMBERS[0]! : e.m;
        return `(${this.expr(e.a, scope)})${member}`;
      }
      case "call": {
        if (e.f === "Object.keys") return `Object.keys(${this.expr(e.a, scope)} ?? {})`;
        if (this.safe && RISKY_CALLS.includes(e.f))
          return `JSON.stringify(${this.expr(e.a, scope)})`;
        return `${e.f}(${this.expr(e.a, scope)})`;
      }
      case "tool": {
        const tool = this.safe && (e.t === "nope" || e.t === "secret") ? "echo" : e.t;
        if (this.arrows > 0 || (this.safe && this.toolCalls >= 3)) return this.expr(e.a, scope);
        this.toolCalls++;
        return `(await callTool("${tool}", { v: ${this.expr(e.a, scope)} }))`;
      }
      case "arr":
        return `[${e.items.map((item) => this.expr(item, scope)).join(", ")}]`;
      case "obj":
        // In parentheses: at the start of a statement or an arrow body, braces open a block.
        return `({ a: ${this.expr(e.a, scope)}, b: ${this.expr(e.b, scope)} })`;
      case "tpl":
        return `\`<\${${this.expr(e.a, scope)}}>\``;
      case "map": {
        const x = this.fresh("x");
        const inner = { vars: [...scope.vars, { name: x, mutable: false }] };
        this.arrows++;
        const body = this.expr(e.a, inner);
        this.arrows--;
        return `[1, 2].map((${x}) => ${body})`;
      }
    }
  }

  block(stmts: Stmt[], scope: Scope): string {
    const inner = { vars: [...scope.vars] };
    return stmts.map((s) => this.stmt(s, inner)).join("\n");
  }

  stmt(s: Stmt, scope: Scope): string {
    switch (s.k) {
      case "decl": {
        const value = this.expr(s.e, scope);
        const name = this.fresh("v");
        scope.vars.push({ name, mutable: s.mutable });
        return `${s.mutable ? "let" : "const"} ${name} = ${value};`;
      }
      case "assign": {
        const mutable = scope.vars.filter((v) => v.mutable);
        if (mutable.length === 0) return `${this.expr(s.e, scope)};`;
        return `${mutable[s.i % mutable.length]!.name} = ${this.expr(s.e, scope)};`;
      }
      case "log":
        return `console.${s.level}(${s.args.map((a) => this.expr(a, scope)).join(", ")});`;
      case "if":
        return `if (${this.expr(s.c, scope)}) {\n${this.block(s.then, scope)}\n} else {\n${this.block(s.otherwise, scope)}\n}`;
      case "for": {
        if (this.safe) return this.block(s.body, scope);
        const i = this.fresh("i");
        return `for (let ${i} = 0; ${i} < 3; ${i}++) {\n${this.block(s.body, { vars: [...scope.vars, { name: i, mutable: false }] })}\n}`;
      }
      case "forof": {
        if (this.safe) return this.block(s.body, scope);
        const x = this.fresh("x");
        const items = `[${this.expr(s.e, scope)}, 0]`;
        return `for (const ${x} of ${items}) {\n${this.block(s.body, { vars: [...scope.vars, { name: x, mutable: false }] })}\n}`;
      }
      case "try": {
        const e = this.fresh("e");
        return `try {\n${this.block(s.body, scope)}\n} catch (${e}) {\n console.log("caught", String(${e}));\n}`;
      }
      case "expr":
        return `${this.expr(s.e, scope)};`;
    }
  }
}

/** Programs that mostly run: statements, then (usually) a returned value. */
export const program: fc.Arbitrary<string> = fc
  .tuple(fc.array(stmtTree, { minLength: 1, maxLength: 6 }), fc.option(exprTree, { freq: 4 }))
  .map(([body, returned]) => {
    const writer = new Writer(false);
    const scope: Scope = { vars: [] };
    const lines = body.map((s) => writer.stmt(s, scope));
    if (returned !== null) lines.push(`return ${writer.expr(returned, scope)};`);
    return lines.join("\n");
  });

export interface HostileFamily {
  name: string;
  /** The code every run of this family must end with. */
  code: RunErrorCode;
  fragments: string[];
  limits?: Partial<Limits>;
}

export const HOSTILE_FAMILIES: HostileFamily[] = [
  {
    name: "endless loop",
    code: "cpu_limit",
    fragments: [
      "for (;;) {}",
      "let n = 0;\nfor (;;) { n = (n + 1) % 7; }",
      "for (let i = 0; ; i++) { Math.sqrt(i); }",
      "for (;;) { [1, 2, 3].map((x) => x * 2); }",
    ],
  },
  {
    name: "memory growth",
    code: "memory_limit",
    fragments: [
      `const grow = [];\nfor (;;) { grow.push("x".repeat(65536) + grow.length); }`,
      `const huge = "x".repeat(1e9);`,
      "const deep = (n) => deep(n + 1) + 1;\ndeep(0);",
      `let twice = "ab";\nfor (;;) { twice = twice + twice; }`,
      "const wide = [];\nfor (let i = 0; ; i++) { wide.push(Array(65536).fill(i)); }",
    ],
  },
  {
    name: "console flood",
    code: "stdout_limit",
    fragments: [
      `for (;;) { console.log("x".repeat(1000)); }`,
      `for (;;) { console.error("y".repeat(4096)); }`,
      `for (let i = 0; ; i++) { console.info({ i, pad: "z".repeat(500) }); }`,
    ],
  },
  {
    name: "tool call flood",
    code: "max_tool_calls",
    fragments: [
      `for (let i = 0; ; i++) { await callTool("echo", { i }); }`,
      `for (;;) { await callTool("get_users", {}); }`,
    ],
  },
  {
    name: "concurrent tool calls",
    code: "max_concurrent_tool_calls",
    fragments: [
      `const calls = [];\nfor (let i = 0; i < 20; i++) { calls.push(callTool("echo", { i })); }\nfor (const c of calls) { await c; }`,
      `const pending = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => callTool("echo", { i }));\nfor (const p of pending) { await p; }`,
    ],
  },
  {
    name: "oversized output",
    code: "output_limit",
    fragments: [
      `return "x".repeat(1100 * 1024);`,
      `return [1, 2, 3].map(() => "y".repeat(400 * 1024));`,
    ],
  },
  {
    name: "output that is not JSON",
    code: "output_not_json",
    fragments: ["const loop = {};\nloop.self = loop;\nreturn loop;", "return () => 1;"],
  },
  {
    name: "reading a reference",
    code: "ref_access",
    fragments: [
      `const secret = await callTool("secret", {});\nreturn secret.password;`,
      `const secret = await callTool("secret", {});\nconsole.log(secret);`,
      `const secret = await callTool("secret", {});\nreturn "leak: " + secret;`,
      `const secret = await callTool("secret", {});\nreturn Object.keys(secret);`,
      `const secret = await callTool("secret", {});\nreturn JSON.stringify(secret);`,
    ],
  },
  {
    name: "a tool that never answers",
    code: "timeout",
    fragments: [
      `await callTool("hang", {});`,
      `const late = await callTool("hang", { v: 1 });\nreturn late;`,
    ],
    limits: { timeoutMs: 200 },
  },
  {
    name: "escapes past the validator",
    code: "script_error",
    fragments: [
      `({})[["constructor"]][["constructor"]]("return 1")();`,
      `Object.getPrototypeOf(() => 1)[["constructor"]]("return globalThis")();`,
      `[].map[["construct" + "or"]]("return this")();`,
      `const c = 1;\nc = 2;`,
      `null.x;`,
      `throw "boom";`,
      `await callTool("nope", {});`,
    ],
  },
  {
    name: "forbidden syntax",
    code: "validation_error",
    fragments: [
      "eval('1');",
      "this.x = 1;",
      "globalThis.a = 1;",
      "import('x');",
      "while (true) {}",
      "function f() {}",
      "({}).constructor.constructor('return 1')();",
      "({}).__proto__;",
      "new Map();",
      "with ({}) {}",
      "class A {}",
      "for (const k in {}) {}",
      "__auditorRefCheck(1);",
      "Promise.resolve(1);",
      "const o = { get x() { return 1; } };",
    ],
  },
];

/** A harmless prefix, then one fragment of one family. */
export const hostileCase: fc.Arbitrary<{ family: HostileFamily; code: string }> = fc
  .tuple(fc.constantFrom(...HOSTILE_FAMILIES), fc.nat(), fc.array(stmtTree, { maxLength: 4 }))
  .map(([family, pick, prefix]) => {
    const writer = new Writer(true);
    const scope: Scope = { vars: [] };
    const lines = prefix.map((s) => writer.stmt(s, scope));
    lines.push(family.fragments[pick % family.fragments.length]!);
    return { family, code: lines.join("\n") };
  });

/** A program with one hostile fragment at any place in it (after a return, inside a loop, …). */
export const mixedProgram: fc.Arbitrary<string> = fc
  .tuple(program, fc.constantFrom(...HOSTILE_FAMILIES), fc.nat(), fc.nat())
  .map(([code, family, pick, at]) => {
    const lines = code.split("\n");
    lines.splice(at % (lines.length + 1), 0, family.fragments[pick % family.fragments.length]!);
    return lines.join("\n");
  });
