// zod validation that yields: a tool's arguments or result can be a quarter of a million
// records, and validating them in one go holds the main thread (and every HTTP request behind
// it) for as long as that takes. Large arrays, at the top or as a field of an object, are
// validated PARSE_CHUNK elements at a time with a turn of the event loop between chunks; the
// array's own checks (length) and the object's (strictness, other fields, defaults) are then
// applied as zod would. The result is what schema.safeParse gives, except that an invalid
// large array reports only its first invalid element.
//
// Every parse here goes through zod's compiled fast path (compiled-schema.ts): a quarter of a
// million records validate in tens of milliseconds rather than hundreds.
import { z } from "zod";
import { compiled } from "./compiled-schema.ts";

/** Elements validated per turn of the event loop (~1–3 ms for typical records). */
export const PARSE_CHUNK = 2_000;

type Result<T> = z.ZodSafeParseResult<T>;

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The object schema with some fields already validated (kept per schema and field set). */
const prevalidated = new WeakMap<z.ZodObject, Map<string, z.ZodObject>>();

export async function parseCooperatively<S extends z.ZodType>(
  schema: S,
  value: unknown,
): Promise<Result<z.output<S>>> {
  if (schema instanceof z.ZodArray && Array.isArray(value) && value.length > PARSE_CHUNK) {
    return (await parseArray(schema, value, [])) as Result<z.output<S>>;
  }
  if (
    schema instanceof z.ZodObject &&
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value)
  ) {
    const record = value as Record<string, unknown>;
    const big = Object.keys(schema.shape).filter((key) => {
      const field = schema.shape[key];
      const v = Object.hasOwn(record, key) ? record[key] : undefined;
      return field instanceof z.ZodArray && Array.isArray(v) && v.length > PARSE_CHUNK;
    });
    if (big.length > 0) {
      const parsed: Record<string, unknown> = { ...record };
      for (const key of big) {
        const field = await parseArray(schema.shape[key] as z.ZodArray, record[key] as unknown[], [
          key,
        ]);
        if (!field.success) return field as Result<z.output<S>>;
        parsed[key] = field.data;
      }
      return compiled(withPrevalidated(schema, big)).safeParse(parsed) as Result<z.output<S>>;
    }
  }
  return compiled(schema).safeParse(value);
}

async function parseArray(
  schema: z.ZodArray,
  value: unknown[],
  path: PropertyKey[],
): Promise<Result<unknown[]>> {
  const element = compiled(schema.element as z.ZodType);
  const out: unknown[] = new Array(value.length);
  for (let start = 0; start < value.length; start += PARSE_CHUNK) {
    if (start > 0) await yieldTurn();
    const end = Math.min(value.length, start + PARSE_CHUNK);
    for (let i = start; i < end; i++) {
      const item = element.safeParse(value[i]);
      if (!item.success)
        return failure(
          item.error.issues.map((issue: z.core.$ZodIssue) => ({
            ...issue,
            path: [...path, i, ...issue.path],
          })),
        );
      out[i] = item.data;
    }
  }
  // The array's own checks (min, max, length) on the validated elements.
  const checks = (schema._zod.def.checks ?? []) as z.core.$ZodCheck<unknown[]>[];
  const own =
    checks.length === 0
      ? { success: true as const }
      : z
          .array(z.unknown())
          .check(...checks)
          .safeParse(out);
  if (!own.success)
    return failure(own.error.issues.map((issue) => ({ ...issue, path: [...path, ...issue.path] })));
  return { success: true, data: out };
}

function withPrevalidated(schema: z.ZodObject, keys: string[]): z.ZodObject {
  let byKeys = prevalidated.get(schema);
  if (!byKeys) prevalidated.set(schema, (byKeys = new Map()));
  const id = keys.join("\0");
  let extended = byKeys.get(id);
  if (!extended)
    byKeys.set(id, (extended = schema.extend(Object.fromEntries(keys.map((k) => [k, z.any()])))));
  return extended;
}

function failure<T>(issues: z.core.$ZodIssue[]): Result<T> {
  return { success: false, error: new z.ZodError(issues) as z.ZodError<T> };
}
