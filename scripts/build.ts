// npm run build: compiles the server and everything it serves into one executable, dist/auditor,
// and writes the browser SDK (ESM bundle, source map, declarations) to dist/sdk/ and the SDK's
// npm package to dist/sdk/package/.
// Reproducible: the same commit gives the same bytes from any clone directory (see
// scripts/verify-build.ts). The output name is embedded in the binary, so it stays fixed.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256File } from "../src/self-digest.ts";
import { sdkBundle } from "../src/web/sdk-bundle-macro.ts";
import { buildSdkPackage, sdkDeclarations } from "./sdk-package.ts";

export const BINARY_PATH = "dist/auditor";
/**
 * A standalone executable with its modules precompiled to JavaScriptCore bytecode: start-up
 * then skips parsing and compiling ~5 MB of JavaScript (~80 ms of the cold start).
 */
export const COMPILE_FLAGS = ["--compile", "--bytecode", "--format=esm"];

export async function buildBinary(root: string): Promise<{ path: string; sha256: string }> {
  mkdirSync(join(root, "dist/sdk"), { recursive: true });
  const declarations = sdkDeclarations(root);
  const sdk = sdkBundle();
  writeFileSync(join(root, "dist/sdk/auditor-sdk.d.ts"), declarations);
  writeFileSync(join(root, `dist/sdk/auditor-sdk.${sdk.hash}.js`), sdk.js);
  writeFileSync(join(root, `dist/sdk/auditor-sdk.${sdk.hash}.js.map`), sdk.map);
  buildSdkPackage(root, join(root, "dist/sdk/package"), declarations);
  // The workers are further entrypoints, embedded under their paths relative to src/: the
  // runtime's (src/runtime/pool.ts) and the one that hashes the binary (src/self-digest.ts).
  const proc = Bun.spawn(
    [
      process.execPath,
      "build",
      "src/main.ts",
      "src/runtime/worker.ts",
      "src/self-digest-worker.ts",
      ...COMPILE_FLAGS,
      "--outfile",
      BINARY_PATH,
      "--define",
      `AUDITOR_SDK_DTS=${JSON.stringify(declarations)}`,
    ],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`bun build failed (exit ${code}):\n${stdout}${stderr}`);
  const path = join(root, BINARY_PATH);
  return { path, sha256: await sha256File(path) };
}

if (import.meta.main) {
  const { path, sha256 } = await buildBinary(process.cwd());
  console.log(
    `built ${path}\nsha256 ${sha256}\nSDK in dist/sdk/, its npm package in dist/sdk/package/`,
  );
}
