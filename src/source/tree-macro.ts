// A Bun macro: at bundle time, reads every file that determines the binary (DESIGN
// "Provenance, receipts and the public egress log") and the git commit they came from, so the
// binary serves, and its statement attests, exactly the source it was built from. The commit is
// an input of the build: two builds of one commit give one digest. Outside a git checkout (an
// exported tree) the commit comes from AUDITOR_SOURCE_COMMIT, or is unknown (null).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** What determines the binary: DESIGN's list, relative to the repository root. */
export const SOURCE_ROOTS = [
  "src",
  "sdk",
  "functions",
  "scripts",
  "package.json",
  "package-lock.json",
  "bunfig.toml",
  "tsconfig.json",
  "Dockerfile",
];

export interface EmbeddedFile {
  path: string;
  sha256: string;
  bytes: number;
  text: string;
}

export interface EmbeddedSource {
  repository: string;
  commit: string | null;
  files: EmbeddedFile[];
}

const ROOT = join(import.meta.dir, "../..");
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function embeddedSource(): EmbeddedSource {
  const paths: string[] = [];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else paths.push(relative(ROOT, path));
  };
  for (const root of SOURCE_ROOTS) walk(join(ROOT, root));
  paths.sort();
  const files = paths.map((path): EmbeddedFile => {
    const bytes = readFileSync(join(ROOT, path));
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new Error(
        `${path} is not UTF-8 text; the source tree served by /source holds text only`,
      );
    }
    return {
      path,
      sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex"),
      bytes: bytes.length,
      text,
    };
  });
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    repository?: unknown;
  };
  if (typeof pkg.repository !== "string")
    throw new Error("package.json must name its repository (a string): the statement carries it");
  return { repository: pkg.repository, commit: commitOf(), files };
}

function commitOf(): string | null {
  const git = (...args: string[]) =>
    Bun.spawnSync(["git", "-C", ROOT, ...args], { stdout: "pipe", stderr: "pipe" });
  const head = git("rev-parse", "HEAD");
  if (head.exitCode !== 0) return process.env.AUDITOR_SOURCE_COMMIT?.trim() || null;
  const commit = head.stdout.toString().trim();
  const status = git("status", "--porcelain", "--untracked-files=normal", "--", ...SOURCE_ROOTS);
  return status.stdout.toString().trim() === "" ? commit : `${commit}-dirty`;
}
