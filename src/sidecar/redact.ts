// Redaction: a tool names the fields of its result that hold secrets (dotted paths, `*` for
// every element or key), and each such value is swapped for a reference before the result
// reaches the sandbox. The script can still pass the field to another tool; it cannot read it.

/** A copy of `value` with every value at `paths` replaced by `toRef(value)`; the input is untouched. */
export function redactPaths(
  value: unknown,
  paths: readonly string[],
  toRef: (secret: unknown) => unknown,
): unknown {
  let out = value;
  for (const path of paths) out = redactAt(out, path.split("."), toRef);
  return out;
}

function redactAt(value: unknown, path: string[], toRef: (secret: unknown) => unknown): unknown {
  if (path.length === 0) return value === undefined ? value : toRef(value);
  if (!value || typeof value !== "object") return value; // the path does not exist here: nothing to hide
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(value)) {
    if (head === "*") return value.map((item) => redactAt(item, rest, toRef));
    const index = Number(head);
    if (!Number.isInteger(index) || index < 0 || index >= value.length) return value;
    const copy = [...value];
    copy[index] = redactAt(copy[index], rest, toRef);
    return copy;
  }
  const record = value as Record<string, unknown>;
  const keys = head === "*" ? Object.keys(record) : Object.hasOwn(record, head) ? [head] : [];
  if (keys.length === 0) return value;
  const copy = { ...record };
  for (const key of keys) copy[key] = redactAt(record[key], rest, toRef);
  return copy;
}

/** Does a concrete path (keys and indices) match a dotted pattern (`*` for any one step)? */
export function pathMatches(path: readonly string[], pattern: string): boolean {
  const steps = pattern.split(".");
  return steps.length === path.length && steps.every((step, i) => step === "*" || step === path[i]);
}
