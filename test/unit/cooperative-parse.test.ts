// Validation that yields to the event loop for large arrays, and gives exactly zod's answer.
import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { PARSE_CHUNK, parseCooperatively } from "../../src/runtime/cooperative-parse.ts";

const User = z.object({ id: z.number().int(), name: z.string().default("?") }).strict();
const users = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i }));

describe("parseCooperatively", () => {
  test("a large array is validated in turns: other work runs before it is done", async () => {
    const ticks: string[] = [];
    const parsing = parseCooperatively(z.array(User), users(PARSE_CHUNK * 5)).then(
      (r) => (ticks.push("parsed"), r),
    );
    setImmediate(() => ticks.push("other work"));
    const result = await parsing;
    expect(ticks).toEqual(["other work", "parsed"]);
    expect(result.success && result.data[7]).toEqual({ id: 7, name: "?" });
  });

  test("the same answer as schema.safeParse: defaults, strictness, length checks, paths", async () => {
    const Args = z
      .object({ users: z.array(User).max(PARSE_CHUNK * 3), tag: z.string().default("t") })
      .strict();
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
      else
        expect(got.error!.issues.map((i) => [i.path, i.code])).toEqual(
          expected.error.issues.map((i) => [i.path, i.code]),
        );
    }
  });

  test("the compiled fast path refuses exactly what zod refuses, hostile values included", async () => {
    const Record = z
      .object({
        id: z.number().int().min(0),
        name: z.string().max(8),
        tags: z.array(z.enum(["a", "b"])).optional(),
        at: z.object({ x: z.number() }).strict().nullable(),
      })
      .strict();
    const hostile: unknown[] = [
      { id: 1, name: "ok", at: null },
      { id: 1, name: "ok", at: { x: 1 }, tags: ["a", "b"] },
      JSON.parse('{"id":1,"name":"ok","at":null,"__proto__":{"polluted":true}}'),
      { id: 1.5, name: "ok", at: null },
      { id: -1, name: "ok", at: null },
      { id: Number.NaN, name: "ok", at: null },
      { id: Infinity, name: "ok", at: null },
      { id: "1", name: "ok", at: null },
      { id: 1, name: "too long a name", at: null },
      { id: 1, name: "ok", at: { x: 1, y: 2 } },
      { id: 1, name: "ok", at: [1] },
      { id: 1, name: "ok", at: null, tags: ["c"] },
      { id: 1, name: "ok", at: null, extra: true },
      { id: 1, name: "ok" },
      Object.assign(Object.create({ inherited: 1 }), { id: 1, name: "ok", at: null }),
      new Date(0),
      [{ id: 1, name: "ok", at: null }],
      null,
      "string",
    ];
    for (const schema of [Record, z.array(Record)]) {
      for (const value of hostile) {
        for (const input of schema === Record
          ? [value]
          : [[value], [...Array.from({ length: PARSE_CHUNK + 1 }, () => hostile[0]), value]]) {
          const expected = schema.safeParse(input);
          const got = await parseCooperatively(schema as z.ZodType, input);
          expect(got.success).toBe(expected.success);
          if (expected.success) expect(got.data).toEqual(expected.data);
          else
            expect(got.error!.issues.map((i) => [i.path, i.code])).toEqual(
              expected.error.issues.map((i) => [i.path, i.code]),
            );
        }
      }
    }
  });
});
