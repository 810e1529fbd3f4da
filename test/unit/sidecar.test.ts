// The reference sidecar's store and the redaction helper.
import { describe, expect, test } from "bun:test";
import { redactPaths } from "../../src/sidecar/redact.ts";
import { isRefToken, RefError, RefSidecar } from "../../src/sidecar/refs.ts";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof RefError) return err.code;
    throw err;
  }
  return "no error";
};

describe("RefSidecar", () => {
  test("put returns an unguessable token; args resolve anywhere inside", () => {
    const sidecar = new RefSidecar();
    const a = sidecar.put([1, 2, 3], { readable: true, source: "tool a" });
    const b = sidecar.put("secret", { readable: false, source: "tool b" });
    expect(a.$ref.id).toMatch(/^ref_[A-Za-z0-9_-]{22}$/);
    expect(a.$ref.id).not.toBe(b.$ref.id);
    const tool = { name: "t", accepts: ["y.*.z"] };
    expect(sidecar.resolveArgs({ x: a, y: [{ z: b }], n: 1 }, tool)).toEqual({
      value: { x: [1, 2, 3], y: [{ z: "secret" }], n: 1 },
      tainted: true,
    });
    expect(sidecar.resolveArgs({ x: a }, tool)).toEqual({
      value: { x: [1, 2, 3] },
      tainted: false,
    });
    expect(code(() => sidecar.resolveArgs({ x: { $ref: { id: "ref_forged" } } }, tool))).toBe(
      "unknown_ref",
    );
  });

  test("every tool gets its own copy: changing one never changes the stored value", () => {
    const sidecar = new RefSidecar();
    const token = sidecar.put({ users: [{ id: 1 }, { id: 2 }] }, { readable: true, source: "t" });
    const first = sidecar.resolveArgs({ x: token }, { name: "t", accepts: [] }).value as {
      x: { users: { id: number }[] };
    };
    first.x.users.push({ id: 3 });
    expect(sidecar.resolveArgs({ x: token }, { name: "t", accepts: [] }).value).toEqual({
      x: { users: [{ id: 1 }, { id: 2 }] },
    });
    expect(sidecar.resolveForClient(token.$ref.id, false)).toEqual({
      users: [{ id: 1 }, { id: 2 }],
    });
  });

  test("tokens deep inside arguments and inside stored values resolve at their paths", () => {
    const sidecar = new RefSidecar();
    const secret = sidecar.put("pw", { readable: false, source: "tool login" });
    const holder = sidecar.put({ list: [1, { inner: secret }] }, { readable: true, source: "t" });
    const tool = { name: "t", accepts: ["a.0.b.list.1.inner"] };
    expect(sidecar.resolveArgs({ a: [{ b: holder }] }, tool)).toEqual({
      value: { a: [{ b: { list: [1, { inner: "pw" }] } }] },
      tainted: true,
    });
    expect(() => sidecar.resolveArgs({ a: [{ c: holder }] }, tool)).toThrow(
      /does not accept one at a\.0\.c\.list\.1\.inner/,
    );
    // biome-ignore lint/suspicious/noSparseArray: a hole must pass through the walk as a hole
    expect(sidecar.resolveArgs([1, , 3], tool).value).toEqual([1, , 3]);
  });

  test("a non-readable value goes only where the tool accepts one", () => {
    const sidecar = new RefSidecar();
    const secret = sidecar.put("pw", { readable: false, source: "tool login" });
    for (const args of [
      { x: secret },
      { y: [{ z: secret }] },
      [secret],
      secret,
      { password: { inner: secret } },
    ]) {
      expect(code(() => sidecar.resolveArgs(args, { name: "echo", accepts: [] }))).toBe(
        "not_readable",
      );
      expect(code(() => sidecar.resolveArgs(args, { name: "login", accepts: ["password"] }))).toBe(
        "not_readable",
      );
    }
    expect(
      sidecar.resolveArgs({ password: secret }, { name: "login", accepts: ["password"] }),
    ).toEqual({ value: { password: "pw" }, tainted: true });
    expect(
      sidecar.resolveArgs({ list: [secret, secret] }, { name: "t", accepts: ["list.*"] }),
    ).toEqual({ value: { list: ["pw", "pw"] }, tainted: true });
  });

  test("each limit is a clear RefError, and nothing is stored past it", () => {
    const sidecar = new RefSidecar({ maxRefBytes: 100, maxTotalBytes: 150, maxRefs: 3 });
    expect(code(() => sidecar.put("x".repeat(200), { readable: true, source: "t" }))).toBe(
      "ref_limit",
    );
    sidecar.put("x".repeat(90), { readable: true, source: "t" });
    expect(code(() => sidecar.put("x".repeat(90), { readable: true, source: "t" }))).toBe(
      "ref_limit",
    );
    sidecar.put(1, { readable: true, source: "t" });
    sidecar.put(2, { readable: true, source: "t" });
    expect(code(() => sidecar.put(3, { readable: true, source: "t" }))).toBe("ref_limit");
    expect(sidecar.size).toBe(3);
  });

  test("clients get readable values; non-readable ones only when allowed", () => {
    const sidecar = new RefSidecar();
    const open = sidecar.put({ a: 1 }, { readable: true, source: "t" });
    const closed = sidecar.put("pw", { readable: false, source: "tool login" });
    expect(sidecar.resolveForClient(open.$ref.id, false)).toEqual({ a: 1 });
    expect(code(() => sidecar.resolveForClient(closed.$ref.id, false))).toBe("not_readable");
    expect(sidecar.resolveForClient(closed.$ref.id, true)).toBe("pw");
  });

  test("resolveReadable stays within its byte budget and never reveals non-readable refs", () => {
    const sidecar = new RefSidecar();
    const small = sidecar.put("s", { readable: true, source: "t" });
    const big = sidecar.put("b".repeat(1000), { readable: true, source: "t" });
    const closed = sidecar.put("pw", { readable: false, source: "t" });
    expect(sidecar.resolveReadable({ small, big, closed }, 100)).toEqual({
      small: "s",
      big,
      closed,
    });
  });

  test("dropNonReadable and clear free the values and their bytes", () => {
    const sidecar = new RefSidecar();
    sidecar.put("a", { readable: true, source: "t" });
    const closed = sidecar.put("pw", { readable: false, source: "t" });
    sidecar.dropNonReadable();
    expect(code(() => sidecar.resolveForClient(closed.$ref.id, false))).toBe("not_readable");
    expect(sidecar.bytes).toBe(3);
    sidecar.clear();
    expect([sidecar.size, sidecar.bytes]).toEqual([0, 0]);
  });

  test("isRefToken accepts exactly the token shape", () => {
    expect(isRefToken({ $ref: { id: "ref_x" } })).toBe(true);
    for (const v of [
      null,
      "ref_x",
      [],
      { $ref: "x" },
      { $ref: { id: 1 } },
      { $ref: { id: "x", more: 1 } },
      { $ref: { id: "x" }, more: 1 },
      { $ref: [] },
    ]) {
      expect(isRefToken(v)).toBe(false);
    }
  });
});

describe("redactPaths", () => {
  const toRef = (v: unknown) => ({ hidden: v });
  test("fields, array wildcards and object wildcards; the input is not modified", () => {
    const input = {
      user: "ada",
      password: "pw",
      accounts: [
        { token: "t1", id: 1 },
        { token: "t2", id: 2 },
      ],
      keys: { a: "k1", b: "k2" },
    };
    const out = redactPaths(input, ["password", "accounts.*.token", "keys.*"], toRef);
    expect(out).toEqual({
      user: "ada",
      password: { hidden: "pw" },
      accounts: [
        { token: { hidden: "t1" }, id: 1 },
        { token: { hidden: "t2" }, id: 2 },
      ],
      keys: { a: { hidden: "k1" }, b: { hidden: "k2" } },
    });
    expect(input.password).toBe("pw");
  });

  test("paths that do not exist change nothing", () => {
    expect(redactPaths({ a: 1 }, ["b", "a.c", "x.*.y"], toRef)).toEqual({ a: 1 });
    expect(redactPaths("plain", ["a"], toRef)).toBe("plain");
  });
});
