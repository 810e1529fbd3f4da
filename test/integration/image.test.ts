// npm run image, as a user would check it: two clean clones of the committed HEAD give the same
// manifest digest; the layer holds exactly the expected files with fixed owners, modes and
// times (read by GNU tar, not by our reader); and Debian's own OCI tools agree: skopeo computes
// the same digest from the archive, and umoci unpacks the layout into a root filesystem where
// the binary runs as uid 10001 (chroot, with /proc mounted as a container runtime would).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "../helpers/auditor-process.ts";

const root = join(import.meta.dir, "../..");
type Built = {
  binarySha256: string;
  manifestDigest: string;
  layerDigest: string;
  layout: string;
  archive: string;
};

function run(cmd: string[], cwd: string) {
  const result = Bun.spawnSync(cmd, {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, TZ: "UTC" },
  });
  if (result.exitCode !== 0)
    throw new Error(`${cmd.join(" ")} failed in ${cwd}:\n${result.stderr.toString()}`);
  return result.stdout.toString();
}

// skopeo and umoci are Debian's (apt-get install skopeo umoci; .ci/run installs them): in CI
// their checks must run, elsewhere they are skipped with this message.
const missingOciTools = ["skopeo", "umoci"].filter((tool) => !Bun.which(tool));
if (missingOciTools.length > 0) {
  const message = `${missingOciTools.join(" and ")} not installed (apt-get install skopeo umoci)`;
  if (process.env.CI)
    test("skopeo and umoci are installed", () => expect(message).toBe("both present"));
  else console.warn(`skipping the image checks by Debian's OCI tools: ${message}`);
}
const withOciTools = test.skipIf(missingOciTools.length > 0);

describe("npm run image", () => {
  const builds: Built[] = [];
  const dirs: string[] = [];
  let commitTime: number;

  beforeAll(async () => {
    commitTime = Number(run(["git", "log", "-1", "--format=%ct"], root).trim());
    for (const name of ["clone-a", "clone-b"]) {
      const dir = join(tempDir(`auditor-image-${name}-`), name);
      dirs.push(dir);
      run(["git", "clone", "--quiet", root, dir], root);
      run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], dir);
      builds.push(
        JSON.parse(
          run(["npm", "run", "--silent", "image", "--", "--json"], dir).trim().split("\n").at(-1)!,
        ),
      );
    }
  }, 300_000);
  // Two clones with their node_modules: removing them can outlast the default 5 s hook timeout.
  afterAll(() => {
    for (const dir of dirs) rmSync(dirname(dir), { recursive: true, force: true });
  }, 60_000);

  test("two clean clones give the same manifest digest", () => {
    expect(builds[0]!.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(builds[1]!.manifestDigest).toBe(builds[0]!.manifestDigest);
    expect(builds[1]!.binarySha256).toBe(builds[0]!.binarySha256);
    expect(readFileSync(builds[1]!.archive).equals(readFileSync(builds[0]!.archive))).toBe(true);
  });

  test("the layer holds exactly the expected files, owners, modes and times", () => {
    const layer = join(
      builds[0]!.layout,
      "blobs/sha256",
      builds[0]!.layerDigest.slice("sha256:".length),
    );
    const listing = run(["tar", "--numeric-owner", "--full-time", "-tvf", layer], root)
      .trim()
      .split("\n");
    const stamp = new Date(commitTime * 1000).toISOString().replace("T", " ").slice(0, 19);
    const rows = listing.map((line) => {
      const [mode, owner, , date, time, ...rest] = line.split(/\s+/);
      expect(`${date} ${time}`).toBe(stamp);
      return `${mode} ${owner} ${rest.join(" ")}`;
    });
    expect(rows).toEqual([
      "drwxr-xr-x 10001/10001 data/",
      "drwxr-xr-x 0/0 etc/",
      "-rw-r--r-- 0/0 etc/group",
      "-rw-r--r-- 0/0 etc/passwd",
      "lrwxrwxrwx 0/0 lib -> usr/lib",
      "lrwxrwxrwx 0/0 lib64 -> usr/lib64",
      "drwxrwxrwt 0/0 tmp/",
      "drwxr-xr-x 0/0 usr/",
      "drwxr-xr-x 0/0 usr/lib/",
      "drwxr-xr-x 0/0 usr/lib/x86_64-linux-gnu/",
      "-rwxr-xr-x 0/0 usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "-rwxr-xr-x 0/0 usr/lib/x86_64-linux-gnu/libc.so.6",
      "-rwxr-xr-x 0/0 usr/lib/x86_64-linux-gnu/libdl.so.2",
      "-rwxr-xr-x 0/0 usr/lib/x86_64-linux-gnu/libm.so.6",
      "-rwxr-xr-x 0/0 usr/lib/x86_64-linux-gnu/libpthread.so.0",
      "drwxr-xr-x 0/0 usr/lib64/",
      "lrwxrwxrwx 0/0 usr/lib64/ld-linux-x86-64.so.2 -> ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "drwxr-xr-x 0/0 usr/local/",
      "drwxr-xr-x 0/0 usr/local/bin/",
      "-r-xr-xr-x 0/0 usr/local/bin/auditor",
      "drwxr-xr-x 0/0 usr/share/",
      "drwxr-xr-x 0/0 usr/share/doc/",
      "drwxr-xr-x 0/0 usr/share/doc/libc6/",
      "-rw-r--r-- 0/0 usr/share/doc/libc6/copyright",
    ]);
    const passwd = run(["tar", "-xOf", layer, "etc/passwd"], root);
    expect(passwd).toContain("auditor:x:10001:10001:");
    expect(run(["tar", "-xOf", layer, "usr/local/bin/auditor"], root).length).toBeGreaterThan(0);
  });

  withOciTools(
    "the config runs the binary as 10001:10001, dstack-only, listening on all interfaces",
    () => {
      const out = JSON.parse(
        run(["skopeo", "inspect", "--config", `oci-archive:${builds[0]!.archive}`], root),
      );
      expect(out.config.User).toBe("10001:10001");
      expect(out.config.Entrypoint).toEqual(["/usr/local/bin/auditor"]);
      expect(out.config.Env).toEqual(
        expect.arrayContaining(["AUDITOR_TEE=dstack", "HOST=0.0.0.0"]),
      );
      expect(out.created).toBe(new Date(commitTime * 1000).toISOString().replace(".000Z", "Z"));
    },
  );

  withOciTools(
    "skopeo computes the same digest from the archive, and umoci unpacks an image the binary runs in",
    () => {
      const inspected = JSON.parse(
        run(["skopeo", "inspect", `oci-archive:${builds[0]!.archive}`], root),
      );
      expect(inspected.Digest).toBe(builds[0]!.manifestDigest);
      const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
      const bundle = join(tempDir("auditor-umoci-"), "bundle");
      run(["umoci", "unpack", "--image", `${builds[0]!.layout}:${version}`, bundle], root);
      // A container runtime mounts /proc (the binary reads its own /proc/self/exe).
      mkdirSync(join(bundle, "rootfs/proc"));
      const script = `mount -t proc proc ${bundle}/rootfs/proc && exec chroot --userspec=10001:10001 ${bundle}/rootfs /usr/local/bin/auditor --version`;
      const out = run(["unshare", "--mount", "--pid", "--fork", "sh", "-c", script], root);
      expect(out).toBe(`auditor ${version}\nsha256 ${builds[0]!.binarySha256}\n`);
      rmSync(dirname(bundle), { recursive: true, force: true });
    },
  );
});
