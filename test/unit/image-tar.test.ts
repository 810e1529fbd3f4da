// The image's tar writer: same entries in any order give the same bytes; GNU tar reads what it
// writes; unsafe or oversize paths and duplicates are refused rather than written.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTar, writeTar, type TarEntry } from "../../scripts/image-tar.ts";
import { tempDir } from "../helpers/auditor-process.ts";

const data = (s: string) => new TextEncoder().encode(s);
const entries: TarEntry[] = [
  { type: "dir", path: "a", mode: 0o755, uid: 0, gid: 0 },
  { type: "file", path: "a/f", mode: 0o644, uid: 0, gid: 0, data: data("x".repeat(700)) },
  { type: "symlink", path: "l", mode: 0o777, uid: 0, gid: 0, target: "a/f" },
  {
    type: "file",
    path: `${"d".repeat(120)}/${"n".repeat(90)}`,
    mode: 0o600,
    uid: 7,
    gid: 8,
    data: data(""),
  },
];

describe("image tar writer", () => {
  test("deterministic: order of entries does not matter", () => {
    expect(
      Buffer.from(writeTar([...entries].reverse(), 1700000000)).equals(
        Buffer.from(writeTar(entries, 1700000000)),
      ),
    ).toBe(true);
  });

  test("GNU tar and our reader read back names, modes, owners, links and contents", () => {
    const file = join(tempDir(), "t.tar");
    writeFileSync(file, writeTar(entries, 1700000000));
    const listing = Bun.spawnSync(["tar", "--numeric-owner", "-tvf", file], {
      env: { TZ: "UTC" },
    }).stdout.toString();
    expect(listing).toContain("-rw-r--r-- 0/0             700 2023-11-14 22:13 a/f");
    expect(listing).toContain("l -> a/f");
    expect(listing).toContain(`-rw------- 7/8 `);
    const back = readTar(writeTar(entries, 0));
    expect(back.map((e) => [e.type, e.path, e.mode])).toEqual([
      ["dir", "a", 0o755],
      ["file", "a/f", 0o644],
      ["file", `${"d".repeat(120)}/${"n".repeat(90)}`, 0o600],
      ["symlink", "l", 0o777],
    ]);
    expect(new TextDecoder().decode(back[1]!.data)).toBe("x".repeat(700));
  });

  test("refuses absolute, parent-escaping, too long and duplicate paths", () => {
    const file = (path: string): TarEntry => ({
      type: "file",
      path,
      mode: 0o644,
      uid: 0,
      gid: 0,
      data: data(""),
    });
    expect(() => writeTar([file("/etc/passwd")], 0)).toThrow(/unsafe/);
    expect(() => writeTar([file("a/../../x")], 0)).toThrow(/unsafe/);
    expect(() => writeTar([file("n".repeat(101))], 0)).toThrow(/too long/);
    expect(() => writeTar([file("a"), file("a")], 0)).toThrow(/duplicate/);
  });
});
