// The single binary: reproducible from any clone directory, and it attests its own digest.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { buildBinary } from "../../scripts/build.ts";
import { runAuditor, startAuditor, tempDir } from "../helpers/auditor-process.ts";
import { hogDoesNotStall } from "../helpers/sessions.ts";
import { sha256File } from "../../src/self-digest.ts";

const root = join(import.meta.dir, "../..");
// What the build reads: the project's files and its dependencies, TypeScript included (it
// writes the SDK declarations); not the bun toolchain, which runs the build.
const TOOLCHAIN = /^(bun|@oven|\.bin)(\/|$)/;

function copyProject(dest: string) {
  const listed = Bun.spawnSync(
    ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    { cwd: root },
  );
  for (const file of listed.stdout.toString().split("\0").filter(Boolean)) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(join(root, file), join(dest, file));
  }
  const modules = join(root, "node_modules");
  cpSync(modules, join(dest, "node_modules"), {
    recursive: true,
    filter: (src) => !TOOLCHAIN.test(relative(modules, src)),
  });
}

describe("dist/auditor", () => {
  let first: { path: string; sha256: string };
  let second: { path: string; sha256: string };
  const dirs: string[] = [];

  beforeAll(async () => {
    dirs.push(tempDir("auditor-clone-a-"), tempDir("auditor-clone-b-"));
    const a = join(dirs[0]!, "auditor");
    const b = join(dirs[1]!, "elsewhere", "auditor-copy");
    copyProject(a);
    copyProject(b);
    [first, second] = await Promise.all([buildBinary(a), buildBinary(b)]);
  }, 120_000);

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("two builds from two clone directories are byte-identical", () => {
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second.sha256).toBe(first.sha256);
  });

  test("--version prints the version and the binary's own sha256", async () => {
    const { stdout, code } = await runAuditor({ command: [first.path], args: ["--version"] });
    expect(code).toBe(0);
    expect(stdout).toBe(
      `auditor ${(await Bun.file(join(root, "package.json")).json()).version}\nsha256 ${first.sha256}\n`,
    );
    expect(await sha256File(first.path)).toBe(first.sha256);
  });

  test("the binary serves /healthz and /attestation, reporting its sha256 as binarySha256", async () => {
    const server = await startAuditor({ command: [second.path], env: { AUDITOR_TEE: "dev" } });
    try {
      expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({
        ok: true,
        binarySha256: first.sha256,
      });
      const body = await (await fetch(`${server.url}/attestation`)).json();
      expect(body.statement.binarySha256).toBe(first.sha256);
      expect(body.attested).toBe(false);
      // The runtime worker is embedded too: sessions run off the event loop in the binary.
      await hogDoesNotStall(server.url);
      // So is the SDK, with the declarations npm run build wrote to dist/sdk.
      const manifest = await (await fetch(`${server.url}/sdk/manifest.json`)).json();
      expect(await (await fetch(`${server.url}${manifest.js}`)).text()).toBe(
        await Bun.file(join(dirs[1]!, "elsewhere", "auditor-copy", "dist", manifest.js)).text(),
      );
      const declarations = await (await fetch(`${server.url}/sdk/auditor-sdk.d.ts`)).text();
      // One module of named exports (no AMD-style `declare module` blocks), as the npm package has.
      expect(declarations).not.toContain("declare module");
      expect(declarations).toContain("export declare function createClient(");
      expect(
        await Bun.file(
          join(dirs[1]!, "elsewhere", "auditor-copy", "dist", "sdk", "package", "index.d.ts"),
        ).text(),
      ).toBe(declarations);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test("one build serves one /openapi.json: the same bytes from both copies, whatever the configuration", async () => {
    const servers = await Promise.all([
      startAuditor({ command: [first.path], env: { AUDITOR_TEE: "dev" } }),
      startAuditor({
        command: [second.path],
        env: {
          AUDITOR_TEE: "dev",
          AUDITOR_API_KEYS: "k",
          AUDITOR_RUNTIME_KEYS: "AAAAAAAAAAAAAAAA",
        },
      }),
    ]);
    try {
      const [a, b] = await Promise.all(
        servers.map(async (s) => (await fetch(`${s.url}/openapi.json`)).text()),
      );
      expect(JSON.parse(a!).openapi).toBe("3.1.1");
      expect(b).toBe(a!);
    } finally {
      for (const server of servers) expect(await server.stop()).toBe(0);
    }
  });
});
