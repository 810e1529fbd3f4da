// The SDK as an npm package (sdk/package.json, scripts/sdk-package.ts): built into a temp dir and
// installed into a fresh consumer project beside zod and @noble/hashes, as npm would lay it out,
// then used from Node (not Bun) against the real server, and type-checked by tsc through its
// exports map. The manifest must declare exactly what the code imports.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { buildSdkPackage, SDK_DEPENDENCIES } from "../../scripts/sdk-package.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";

const ROOT = join(import.meta.dir, "../..");
const rootManifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const manifest = JSON.parse(readFileSync(join(ROOT, "sdk/package.json"), "utf8"));

let server: AuditorProcess;
let consumer: string;
let packageDir: string;
let written: string[];

beforeAll(async () => {
  server = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
  consumer = tempDir();
  packageDir = join(consumer, "node_modules", manifest.name);
  // Where npm would unpack it, beside its dependencies.
  written = buildSdkPackage(ROOT, packageDir);
  for (const name of SDK_DEPENDENCIES) {
    mkdirSync(join(consumer, "node_modules", name, ".."), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", name), join(consumer, "node_modules", name));
  }
});
afterAll(async () => {
  await server?.stop();
});

/** Bare specifiers (packages) a module's text imports. */
const packagesOf = (text: string) =>
  ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => !name.startsWith("."));
const packageName = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

describe("sdk/package.json", () => {
  test("publishable: named, versioned with the server, ESM, an exports map to the built files", () => {
    expect(manifest.private).toBeUndefined();
    expect(manifest.version).toBe(rootManifest.version);
    expect(manifest.repository.url).toBe(rootManifest.repository);
    expect(manifest.type).toBe("module");
    expect(manifest.exports["."]).toEqual({ types: "./index.d.ts", default: "./index.js" });
    expect([...manifest.files, "package.json"].sort()).toEqual(written);
  });

  test("its dependencies are exactly the packages the SDK imports, at the versions the server pins", () => {
    expect(Object.keys(manifest.dependencies).sort()).toEqual([...SDK_DEPENDENCIES].sort());
    for (const name of SDK_DEPENDENCIES)
      expect(manifest.dependencies[name]).toBe(`^${rootManifest.dependencies[name]}`);
  });
});

describe("the built package", () => {
  test("index.js imports only its declared dependencies; index.d.ts is one module of named exports", () => {
    const js = readFileSync(join(packageDir, "index.js"), "utf8");
    expect([...new Set(packagesOf(js).map(packageName))].sort()).toEqual(
      [...SDK_DEPENDENCIES].sort(),
    );
    const dts = readFileSync(join(packageDir, "index.d.ts"), "utf8");
    expect(dts).not.toContain("declare module");
    expect(dts).toContain("export declare function createClient(");
    expect([...new Set(packagesOf(dts).map(packageName))]).toEqual(["zod"]);
  });

  test("Node imports it by name and talks to the server", () => {
    const script = `
      import { createClient, HttpError } from "${manifest.name}";
      const auditor = createClient({ baseUrl: process.argv[1] });
      const session = await auditor.sessions.start("return (await callTool('echo', { n: 41 })).n + 1;");
      const attestation = await auditor.attestation();
      const refused = await auditor.invoke("no-such-function", {}).catch((e) => e);
      console.log(JSON.stringify({ result: await session.result(), kid: attestation.statement.kid.length, refused: refused instanceof HttpError && refused.status }));`;
    const run = Bun.spawnSync(["node", "--input-type=module", "-e", script, server.url], {
      cwd: consumer,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(run.stderr.toString()).toBe("");
    expect(JSON.parse(run.stdout.toString())).toEqual({ result: 42, kid: 16, refused: 404 });
  });

  test("tsc type-checks a consumer through the exports map, and refuses a misuse", () => {
    const check = (code: string) => {
      const file = join(consumer, "consumer.ts");
      writeFileSync(file, code);
      const options: ts.CompilerOptions = {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
        types: [],
      };
      const program = ts.createProgram([file], options);
      return ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    };
    const good = `
      import { createClient, LimitError, type GeneratePromptOutput, type SessionEvent, type Report } from "${manifest.name}";
      const auditor = createClient({ baseUrl: "https://auditor.example", pinnedKeys: ["kid"] });
      export async function use(signal: AbortSignal): Promise<string> {
        const out: GeneratePromptOutput = await auditor.generatePrompt({ sessionId: "s", transcript: "t" }, { sealed: true, signal });
        const session = await auditor.sessions.connect("id", "token", { fromSeq: 2, signal });
        for await (const event of session) { const e: SessionEvent = event; if (e.type === "stdout") return e.payload.chunk; }
        const report: Report = await auditor.report("etherea", { signal });
        if (report.attested && out.provider_used === "local") throw new LimitError("x", "y");
        return report.app;
      }`;
    expect(check(good)).toEqual([]);
    const bad = `
      import { createClient } from "${manifest.name}";
      const n: number = (await createClient({ baseUrl: "x" }).generatePrompt({ sessionId: "s", transcript: "t" })).prompt;
      export { n };`;
    expect(check(bad).join("\n")).toContain("Type 'string' is not assignable to type 'number'");
  }, 60_000);
});
