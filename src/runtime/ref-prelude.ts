// Names the runtime splices into the script; the validator refuses any script identifier with
// this prefix, so a script can neither call nor shadow them. They are parameters of the
// script's wrapper (closures), never globals: nothing can reach them by a computed name.
export const RESERVED_PREFIX = "__auditor";
/** callTool for calls the auto-ref pass proved pass-through: answered with a reference. */
export const REF_CALL = "__auditorCallToolRef";
/** Wraps operands of ==, !=, ===, !== and switch: a ref there ends the run. */
export const REF_CHECK = "__auditorRefCheck";

// JavaScript evaluated inside a QuickJS context when the first ref arrives: it turns ref tokens
// into opaque values and back. A ref in the sandbox is a Proxy whose every trap calls `violation`
// (a host function that ends the run with code ref_access), so reading, spreading, enumerating,
// converting to a primitive (concatenation, templates, <, ==) or logging one fails at once. Only
// two reads are let through: `then` (so a ref can be awaited and returned from the async script)
// and `toJSON` while the runtime itself serializes. It receives what the lockdown captured
// before the script ran (the original JSON functions, Proxy, and the WeakMap of live refs the
// comparison check reads), and its helpers go back to the host, never onto the global object.
export const REF_PRELUDE = `(violation, c) => {
  const ids = c.ids;
  let serializing = false;
  const deny = (what) => () => violation(what);
  const handler = {
    get: (target, key) => (key === "then" || (serializing && key === "toJSON") ? undefined : violation("read")),
    set: deny("write to"),
    has: deny("read"),
    deleteProperty: deny("write to"),
    defineProperty: deny("write to"),
    ownKeys: deny("enumerate"),
    getOwnPropertyDescriptor: deny("read"),
    getPrototypeOf: deny("inspect"),
    setPrototypeOf: deny("write to"),
    isExtensible: deny("inspect"),
    preventExtensions: deny("write to"),
  };
  const isToken = (v) => {
    if (!v || typeof v !== "object" || c.isArray(v)) return false;
    const k = c.keys(v);
    if (k.length !== 1 || k[0] !== "$ref") return false;
    const inner = v.$ref;
    if (!inner || typeof inner !== "object" || c.isArray(inner)) return false;
    const ik = c.keys(inner);
    return ik.length === 1 && ik[0] === "id" && typeof inner.id === "string";
  };
  const makeRef = (id) => {
    const ref = new c.Proxy({}, handler);
    ids.set(ref, id);
    return ref;
  };
  const serialize = (value, onRef) => {
    serializing = true;
    try {
      return c.stringify(value, (key, v) => (ids.has(v) ? onRef(v) : v));
    } finally {
      serializing = false;
    }
  };
  return {
    revive: (text) => c.parse(text, (key, v) => (isToken(v) ? makeRef(v.$ref.id) : v)),
    encode: (value) => serialize(value, (ref) => ({ $ref: { id: ids.get(ref) } })),
    forLog: (value) => serialize(value, () => violation("log")),
  };
}`;
