// Names the runtime adds to the sandbox; the validator refuses any script identifier with this
// prefix, so a script can neither call nor shadow them.
export const RESERVED_PREFIX = "__auditor";
/** callTool for calls the auto-ref pass proved pass-through: answered with a reference. */
export const REF_CALL = "__auditorCallToolRef";
/** Wraps operands of ==, !=, ===, !== and switch: a ref there ends the run. */
export const REF_CHECK = "__auditorRefCheck";
/** The prelude's WeakMap of live refs (null until the first ref arrives). */
export const REF_IDS = "__auditorRefIds";
/** Host function that ends the run with ref_access. */
export const REF_VIOLATION = "__auditorViolation";

/** Source of REF_CHECK, compiled with the script (a host call per comparison would cost more). */
export const REF_CHECK_SOURCE = `const ${REF_CHECK} = (v) => (${REF_IDS} !== null && ${REF_IDS}.has(v) ? ${REF_VIOLATION}("compare") : v);`;

// JavaScript evaluated inside a QuickJS context when the first ref arrives: it turns ref tokens into
// opaque values and back. A ref in the sandbox is a Proxy whose every trap calls `violation`
// (a host function that ends the run with code ref_access), so reading, spreading,
// enumerating, converting to a primitive (concatenation, templates, <, ==) or logging one fails
// at once. Only two reads are let through: `then` (so a ref can be awaited and returned from the
// async script) and `toJSON` while the runtime itself serializes. The helpers are returned to
// the host, never put on the global object. It is compiled after the script started, which may
// have replaced JSON.parse or Object.keys: the host passes in the originals it captured first.
export const REF_PRELUDE = `(violation, parse, stringify, keys, isArray) => {
  const ids = new WeakMap();
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
    ids,
  };
}`;
