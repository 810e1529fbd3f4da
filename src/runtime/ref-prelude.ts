// JavaScript evaluated inside each QuickJS context before the script: it turns ref tokens into
// opaque values and back. A ref in the sandbox is a Proxy whose every trap calls `violation`
// (a host function that ends the run with code ref_access), so reading, spreading,
// enumerating, converting to a primitive (concatenation, templates, <, ==) or logging one fails
// at once. Only two reads are let through: `then` (so a ref can be awaited and returned from the
// async script) and `toJSON` while the runtime itself serializes. The helpers are returned to
// the host, never put on the global object, and they capture JSON/Object before the script runs.
export const REF_PRELUDE = `(violation) => {
  const ids = new WeakMap();
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const keys = Object.keys;
  const isArray = Array.isArray;
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
    if (!v || typeof v !== "object" || isArray(v)) return false;
    const k = keys(v);
    if (k.length !== 1 || k[0] !== "$ref") return false;
    const inner = v.$ref;
    if (!inner || typeof inner !== "object" || isArray(inner)) return false;
    const ik = keys(inner);
    return ik.length === 1 && ik[0] === "id" && typeof inner.id === "string";
  };
  const makeRef = (id) => {
    const ref = new Proxy({}, handler);
    ids.set(ref, id);
    return ref;
  };
  const serialize = (value, onRef) => {
    serializing = true;
    try {
      return stringify(value, (key, v) => (ids.has(v) ? onRef(v) : v));
    } finally {
      serializing = false;
    }
  };
  return {
    revive: (text) => parse(text, (key, v) => (isToken(v) ? makeRef(v.$ref.id) : v)),
    encode: (value) => serialize(value, (ref) => ({ $ref: { id: ids.get(ref) } })),
    forLog: (value) => serialize(value, () => violation("log")),
    check: (value) => (ids.has(value) ? violation("compare") : value),
  };
}`;
