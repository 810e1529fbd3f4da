// The image and deployment files: every base image pinned by digest, nothing fetched from
// outside the npm registry and Debian during the build, a non-root dstack-only runtime, and a
// compose file whose hash is the one dstack (and `auditor verify`) computes.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { appCompose, ALLOWED_ENVS } from "../../scripts/app-compose.ts";

const root = join(import.meta.dir, "../..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .filter((l) => l.trim() && !l.trim().startsWith("#"));

describe("Dockerfile", () => {
  test("every base image is pinned by sha256 digest (the runtime starts from scratch), and no syntax directive pulls an unpinned frontend", () => {
    const froms = instructions.filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.at(-1)).toBe("FROM scratch");
    for (const from of froms.slice(0, -1))
      expect(from).toMatch(/^FROM\s+\S+@sha256:[0-9a-f]{64}(\s+AS\s+\w+)?$/i);
    expect(dockerfile).not.toMatch(/^#\s*syntax=/im);
  });

  test("nothing is downloaded during the build except through npm (the lockfile) and the image builder (its sha256-pinned .deb)", () => {
    for (const line of instructions) {
      expect(line).not.toMatch(/^ADD\s+https?:/i);
      expect(line).not.toMatch(/\b(curl|wget|git\s+clone|pip\s+install|bun\s+upgrade)\b/);
    }
    expect(instructions.filter((l) => /^RUN\s/.test(l)).some((l) => /npm ci\b/.test(l))).toBe(true);
  });

  test("the runtime is non-root, dstack-only, and holds only the image builder's files and the data dir", () => {
    const final = instructions.slice(instructions.map((l) => /^FROM\s/.test(l)).lastIndexOf(true));
    expect(final.find((l) => /^USER\s/.test(l))).toMatch(/^USER\s+[1-9]\d*:[1-9]\d*$/);
    expect(final.join("\n")).toContain("AUDITOR_TEE=dstack");
    expect(final.filter((l) => /^(COPY|ADD)\s/.test(l))).toHaveLength(2);
    expect(final.some((l) => /^RUN\s/.test(l))).toBe(false);
  });

  test("Bun comes from the lockfile at the version package.json pins", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
    expect(lock.packages["node_modules/bun"].version).toBe(pkg.devDependencies.bun);
    expect(Bun.version).toBe(pkg.devDependencies.bun);
  });
});

describe("deploy/app-compose", () => {
  const image = `ghcr.io/etherea/auditor@sha256:${"ab".repeat(32)}`;

  test("the image is referenced by digest; a tag is refused", () => {
    expect(() => appCompose(root, "ghcr.io/etherea/auditor:latest")).toThrow(/by digest/);
    const manifest = appCompose(root, image);
    expect(manifest.docker_compose_file).toContain(`image: ${image}`);
    expect(manifest.docker_compose_file).not.toContain("AUDITOR_IMAGE");
    expect(manifest.allowed_envs).toEqual(ALLOWED_ENVS);
    // Every secret the compose file reads from the environment is an allowed (encrypted) env.
    const referenced = [...manifest.docker_compose_file.matchAll(/\$\{(\w+)\}/g)]
      .map((m) => m[1])
      .sort();
    expect(referenced).toEqual([...ALLOWED_ENVS].sort());
  });
});
