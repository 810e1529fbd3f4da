// The realm lockdown: JavaScript evaluated in every fresh QuickJS context before the script,
// so that code which slips past the validator (computed keys such as e[["constructor"]] defeat
// any static check) still finds no way out:
// - the Function, AsyncFunction, GeneratorFunction and AsyncGeneratorFunction constructors are
//   unreachable from every prototype chain (their prototypes' `constructor` is undefined,
//   non-writable, non-configurable), and `eval` is gone, so no source text ever becomes code;
// - every global that AgentScript does not list is deleted (Proxy, Reflect, Promise, globalThis…);
// - the shared intrinsics are frozen, so no getter, `then` or `toJSON` can be planted on
//   Object.prototype and friends (ordinary scripts only read them; assigning over an inherited
//   method, `o.toString = …`, silently does nothing, as with any frozen prototype);
// - what the runtime itself needs (the original JSON functions, Proxy for refs, the WeakMap of
//   live refs, the comparison check, an error describer that never runs script code) is returned
//   to the host as closures: none of it has a name the script could reach.
// The same code also makes ToolError values, since the host's own newError would assign over
// the frozen prototype's name.
// `violation` is the host function that ends the run with ref_access.
export const LOCKDOWN_SOURCE = `(violation, keep) => {
  "use strict";
  const g = globalThis;
  const { freeze, getPrototypeOf, defineProperty, getOwnPropertyNames, getOwnPropertyDescriptor } = Object;
  const fnProtos = [
    getPrototypeOf(function () {}),
    getPrototypeOf(async function () {}),
    getPrototypeOf(function* () {}),
    getPrototypeOf(async function* () {}),
  ];
  for (const proto of fnProtos) {
    defineProperty(proto, "constructor", { value: undefined, writable: false, enumerable: false, configurable: false });
  }
  const captured = {
    parse: JSON.parse,
    stringify: JSON.stringify,
    keys: Object.keys,
    isArray: Array.isArray,
    Proxy: Proxy,
    ids: new WeakMap(),
  };
  const ids = captured.ids;
  captured.refCheck = (v) => (ids.has(v) ? violation("compare") : v);
  // Reads a property without calling getters: own data properties up the chain, else undefined.
  const dataProp = (value, key) => {
    for (let p = value; p !== null && (typeof p === "object" || typeof p === "function"); p = getPrototypeOf(p)) {
      const d = getOwnPropertyDescriptor(p, key);
      if (d) return "value" in d ? d.value : undefined;
    }
    return undefined;
  };
  captured.describe = (v) => {
    if (v === null || (typeof v !== "object" && typeof v !== "function")) {
      return { name: "Error", message: typeof v === "symbol" ? "a symbol was thrown" : String(v) };
    }
    const name = dataProp(v, "name");
    const message = dataProp(v, "message");
    return {
      name: typeof name === "string" ? name : "Error",
      message: typeof message === "string" ? message : "a value that is not an Error was thrown",
    };
  };
  // Tool failures as the script sees them: own name and message (the frozen Error.prototype
  // would silently swallow assignments to inherited ones).
  const ErrorConstructor = Error; // captured: the global is deleted below
  captured.toolError = (message) => {
    const error = new ErrorConstructor(message);
    defineProperty(error, "name", { value: "ToolError", writable: true, enumerable: false, configurable: true });
    return error;
  };
  const iteratorOf = (v) => getPrototypeOf(v[Symbol.iterator]());
  const errors = [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError];
  if (typeof AggregateError === "function") errors.push(AggregateError);
  if (typeof InternalError === "function") errors.push(InternalError);
  const roots = [
    Object, Object.prototype, Array, Array.prototype, String, String.prototype, Number,
    Number.prototype, Boolean, Boolean.prototype, Date, Date.prototype, Math, JSON, Promise,
    Promise.prototype, Symbol, Symbol.prototype, RegExp, RegExp.prototype, BigInt,
    BigInt.prototype, parseInt, parseFloat, isNaN, isFinite, ...fnProtos,
    ...fnProtos.map((p) => p.prototype).filter(Boolean),
    ...errors.flatMap((e) => [e, e.prototype]),
    iteratorOf([]), getPrototypeOf(iteratorOf([])), iteratorOf(""),
    getPrototypeOf(/x/[Symbol.matchAll]("")),
  ];
  for (const root of roots) freeze(root);
  const allowed = new Set(keep);
  for (const name of getOwnPropertyNames(g)) {
    if (allowed.has(name)) continue;
    try {
      delete g[name];
    } catch {
      // non-configurable (undefined, NaN, Infinity): harmless values
    }
  }
  return captured;
}`;
