// Validation that yields to the event loop for large arrays, and gives exactly zod's answer.
import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { PARSE_CHUNK, parseCooperatively } from "../../src/runtime/cooperative-parse.ts";

const User = z.object({ id: z.number().int(), name: z.string().default("?") }).strict();
const users = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i }));

describe("parseCooperatively", () => {
  test("a large array is validated in turns: other work runs before it is done", async () => {
    const ticks: string[] = [];
    const parsing = parseCooperatively(z.array(User), users(PARSE_CHUNK * 5)).then((r) => (ticks.push("parsed"), r));
    setImmediate(() => ticks.push("other work"));
    const result = await parsing;
    expect(ticks).toEqual(["other work", "parsed"]);
    expect(result.success && result.data[7]).toEqual({ id: 7, name: "?" });
  });

  test("the same answer as schema.safeParse: defaults, strictness, length checks, paths", async () => {
    const Args = z.object({ users: z.array(User).max(PARSE_CHUNK * 3), tag: z.string().default("t") }).strict();
    const cases: [z.ZodType, unknown][] = [
      [Args, { users: users(PARSE_CHUNK * 2) }],
      [Args, { users: users(PARSE_CHUNK * 4) }],
      [Args, { users: users(PARSE_CHUNK * 2), extra: 1 }],
      [Args, { users: [...users(PARSE_CHUNK * 2), { id: "x" }] }],
      [Args, { users: users(PARSE_CHUNK * 2), tag: 5 }],
      [z.array(User).min(PARSE_CHUNK * 3), users(PARSE_CHUNK * 2)],
      [z.array(User), [...users(PARSE_CHUNK + 1), { id: 1, other: true }]],
      [z.array(User), users(10)],
    ];
    for (const [schema, value] of cases) {
      const expected = schema.safeParse(value);
      const got = await parseCooperatively(schema, value);
      expect(got.success).toBe(expected.success);
      if (expected.success) expect(got.data).toEqual(expected.data);
      else expect(got.error!.issues.map((i) => [i.path, i.code])).toEqual(expected.error.issues.map((i) => [i.path, i.code]));
    }
  });
});
