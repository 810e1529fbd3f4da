// zod's compiled fast path for the server's hot schemas (tool values, session events):
// z.compile generates the checks once per schema; a value the generated code refuses, and any
// schema it cannot model, goes to zod's runtime parser, so results and issues are zod's own.
// For records it is several times faster than the runtime parser.
import { z } from "zod";

const compiledSchemas = new WeakMap<z.core.$ZodType, z.core.$ZodType>();

/** The schema's compiled clone (classic or zod/mini alike), made on first use and kept. */
export function compiled<S extends z.core.$ZodType>(schema: S): S {
  let fast = compiledSchemas.get(schema);
  if (!fast) compiledSchemas.set(schema, (fast = z.compile(schema)));
  return fast as S;
}
