// The realm lockdown: JavaScript evaluated in every fresh QuickJS context before the script,
// so that code which slips past the validator (computed keys such as e[["constructor"]] defeat
// any static check) still finds no way out:
// - the Function, AsyncFunction, GeneratorFunction and AsyncGeneratorFunction constructors are
//   unreachable from every prototype chain (their prototypes' `constructor` is undefined,
//   non-writable, non-configurable), and the `Function`, `eval` and `globalThis` globals are
//   gone, so no source text ever becomes code and nothing names the global object;
// - the shared intrinsics take no new properties (so no getter, `then` or `toJSON` can be
//   planted on Object.prototype and friends), and the ones every value passes through
//   (Object.prototype, the function and promise prototypes) are frozen outright. Ordinary
//   scripts only read them; assigning over an inherited property (`o.toString = …`) silently
//   does nothing, as with any frozen prototype;
// - what the runtime itself needs (the original JSON functions, Proxy for refs, the WeakMap of
//   live refs, the comparison check) is returned to the host as closures: none of it has a name
//   the script could reach.
// It runs once per run, so it is kept small (QuickJS compiles ~20 bytes/µs): every global that
// is not AgentScript's is already unreachable by name (the validator refuses it) and without the
// global object, so only the three that could turn into code or reach that object are deleted.
// Contexts are made without the intrinsics AgentScript has no use for (sandbox.ts).
// `v` is the host function that ends the run with ref_access.
export const LOCKDOWN_SOURCE = `(v) => {
"use strict";
const O = Object, P = O.getPrototypeOf, g = globalThis, pe = O.preventExtensions;
const fns = [P(function () {}), P(async function () {}), P(function* () {}), P(async function* () {})];
for (const p of fns) O.defineProperty(p, "constructor", { value: undefined, writable: false, configurable: false });
const c = { parse: JSON.parse, stringify: JSON.stringify, keys: O.keys, isArray: Array.isArray, Proxy, Error, String, P, own: O.getOwnPropertyDescriptor, define: O.defineProperty, ids: new WeakMap() };
c.refCheck = (x) => (c.ids.has(x) ? v("compare") : x);
for (const k of [Array, String, Number, Boolean, Date, Symbol, RegExp, BigInt, Error, TypeError, RangeError, SyntaxError, ReferenceError, InternalError]) pe(pe(k).prototype);
const it = P([][Symbol.iterator]());
for (const x of [O, Math, JSON, Promise, it, P(it), P(""[Symbol.iterator]()), parseInt, parseFloat, isNaN, isFinite]) pe(x);
for (const x of [O.prototype, Promise.prototype, ...fns]) O.freeze(x);
delete g.Function;
delete g.eval;
delete g.globalThis;
return c;
}`;

// Helpers for rarer moments, compiled on first use with what the lockdown captured (`c`): a
// thrown value described from its own data properties only (never a getter, toJSON or
// toString), and ToolError values with own name and message (the frozen Error.prototype would
// swallow assignments to inherited ones, and the Error global may be replaced by then).
export const HELPERS_SOURCE = `(c) => {
  "use strict";
  const data = (value, key) => {
    for (let p = value; p !== null && (typeof p === "object" || typeof p === "function"); p = c.P(p)) {
      const d = c.own(p, key);
      if (d) return "value" in d ? d.value : undefined;
    }
    return undefined;
  };
  return {
    describe: (x) => {
      if (x === null || (typeof x !== "object" && typeof x !== "function")) {
        return { name: "Error", message: typeof x === "symbol" ? "a symbol was thrown" : c.String(x) };
      }
      const name = data(x, "name"), message = data(x, "message");
      return {
        name: typeof name === "string" ? name : "Error",
        message: typeof message === "string" ? message : "a value that is not an Error was thrown",
      };
    },
    toolError: (message) => {
      const error = new c.Error(message);
      c.define(error, "name", { value: "ToolError", writable: true, enumerable: false, configurable: true });
      return error;
    },
  };
}`;
