// The Dockerfile and `npm run image` declare the same image: the same files (the build stage
// lays them out with the image builder itself), the same owners and modes, the same config.
import { describe, expect, test } from "bun:test";
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import {
  APP_UID,
  IMAGE_CONFIG,
  imageEntries,
  LIBC_FILES,
  writeRootfs,
} from "../../scripts/image.ts";
import { tempDir } from "../helpers/auditor-process.ts";

const root = join(import.meta.dir, "../..");
const instructions = readFileSync(join(root, "Dockerfile"), "utf8")
  .replace(/\\\n/g, " ")
  .split("\n")
  .filter((l) => l.trim() && !l.trim().startsWith("#"));
const finalStage = instructions.slice(
  instructions.map((l) => /^FROM\s/.test(l)).lastIndexOf(true) + 1,
);
const buildRun = instructions.filter((l) => /^RUN\s/.test(l)).join(" ");
const fakeLibc = new Map(
  [...LIBC_FILES, "copyright"].map((n) => [n, new TextEncoder().encode(n)] as const),
);
const entries = imageEntries(new TextEncoder().encode("binary"), fakeLibc);

describe("Dockerfile and npm run image declare the same image", () => {
  test("the final stage copies the builder's own rootfs, and only the non-root entries separately", () => {
    expect(buildRun).toContain("scripts/image.ts --rootfs /rootfs");
    const copies = finalStage.filter((l) => /^COPY\s/.test(l));
    const owned = entries.filter((e) => e.uid !== 0);
    expect(owned.map((e) => e.path)).toEqual(["data"]);
    expect(copies).toEqual([
      "COPY --from=build /rootfs/ /",
      ...owned.map(
        (e) =>
          `COPY --from=build --chown=${e.uid}:${e.gid} --chmod=${e.mode.toString(8).padStart(4, "0")} /${e.path} /${e.path}`,
      ),
    ]);
    for (const e of owned) {
      expect(e.type).toBe("dir"); // made empty in the build stage, never taken from the rootfs
      expect(buildRun).toContain(`rmdir /rootfs/${e.path}`);
      expect(buildRun).toContain(`mkdir /${e.path}`);
    }
  });

  test("--rootfs writes exactly the layer's files, types, modes and link targets", async () => {
    const out = join(tempDir(), "rootfs");
    await writeRootfs(new TextEncoder().encode("binary"), out, fakeLibc);
    for (const e of entries) {
      const stat = lstatSync(join(out, e.path));
      const type = stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "dir" : "file";
      expect(`${e.path} ${type}`).toBe(`${e.path} ${e.type}`);
      if (e.type === "symlink") expect(readlinkSync(join(out, e.path))).toBe(e.target);
      else
        expect(`${e.path} ${(stat.mode & 0o7777).toString(8)}`).toBe(
          `${e.path} ${e.mode.toString(8)}`,
        );
    }
    const listed = Bun.spawnSync(["find", out, "-mindepth", "1"])
      .stdout.toString()
      .trim()
      .split("\n");
    expect(listed.map((p) => p.slice(out.length + 1)).sort()).toEqual(
      entries.map((e) => e.path).sort(),
    );
  });

  test("the config is the same: user, environment, entrypoint, port, volume, working dir", () => {
    const values = (keyword: string) =>
      finalStage
        .filter((l) => l.startsWith(`${keyword} `))
        .map((l) => l.slice(keyword.length + 1).trim());
    expect(values("USER")).toEqual([IMAGE_CONFIG.User]);
    expect(values("ENV")).toEqual(IMAGE_CONFIG.Env);
    expect(values("ENTRYPOINT").map((v) => JSON.parse(v))).toEqual([IMAGE_CONFIG.Entrypoint]);
    expect(values("EXPOSE")).toEqual(Object.keys(IMAGE_CONFIG.ExposedPorts));
    expect(values("VOLUME")).toEqual(Object.keys(IMAGE_CONFIG.Volumes));
    expect(values("WORKDIR")).toEqual([IMAGE_CONFIG.WorkingDir]);
    expect(IMAGE_CONFIG.User).toBe(`${APP_UID}:${APP_UID}`);
  });
});
