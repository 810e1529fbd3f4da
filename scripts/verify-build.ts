// npm run verify-build: proves the build is reproducible the way a user would check it. Clones
// the committed HEAD into two fresh directories, installs from the lockfile, builds each, and
// compares the digests (exit 1 when they differ).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary } from "./build.ts";

function sh(cmd: string[], cwd: string) {
  const result = Bun.spawnSync(cmd, { cwd, stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed in ${cwd}`);
}

const repo = process.cwd();
const digests: string[] = [];
for (const name of ["clone-a", "clone-b"]) {
  const base = mkdtempSync(join(tmpdir(), `auditor-verify-${name}-`));
  const dir = join(base, name);
  try {
    sh(["git", "clone", "--quiet", repo, dir], repo);
    sh(["npm", "ci", "--no-audit", "--no-fund", "--silent"], dir);
    const { sha256 } = await buildBinary(dir);
    console.log(`${name}: sha256 ${sha256}`);
    digests.push(sha256);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
if (digests[0] !== digests[1]) {
  console.error("NOT reproducible: the two builds differ");
  process.exit(1);
}
console.log(`reproducible: both builds are sha256 ${digests[0]}`);
