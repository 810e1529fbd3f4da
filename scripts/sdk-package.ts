// The SDK as an npm package, written by `npm run build` to dist/sdk/package/ for `npm publish`:
// sdk/package.json (whose exports map names these files), index.js (ESM: the SDK's own code in
// one file, its dependencies zod and @noble/hashes left as imports so an application keeps one
// copy of each) and index.d.ts (every declaration rolled into one file of named exports). The
// same index.d.ts is what the binary serves at /sdk/auditor-sdk.d.ts.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateDtsBundle } from "dts-bundle-generator";

export const SDK_ENTRY = "sdk/client/index.ts";

/** The packages the SDK imports; the package declares exactly these (test/sdk/package.test.ts). */
export const SDK_DEPENDENCIES = ["@noble/hashes", "zod"];

/** One .d.ts with named exports, compiled under sdk/tsconfig.json (browser types, no Bun). */
export function sdkDeclarations(root: string): string {
  const entry = {
    filePath: join(root, SDK_ENTRY),
    output: { noBanner: true, exportReferencedTypes: false },
  };
  const [text] = generateDtsBundle([entry], {
    preferredConfigPath: join(root, "sdk/tsconfig.json"),
  });
  if (!text) throw new Error("the SDK declarations could not be emitted");
  return text;
}

/** Writes the package to `outDir`; returns the paths written, relative to it. */
export function buildSdkPackage(
  root: string,
  outDir: string,
  declarations = sdkDeclarations(root),
): string[] {
  mkdirSync(outDir, { recursive: true });
  const external = SDK_DEPENDENCIES.flatMap((name) => [
    `--external=${name}`,
    `--external=${name}/*`,
  ]);
  // Run in the repository: the bundle's path comments are relative to the working directory.
  const out = join(outDir, "index.js");
  const args = [
    process.execPath,
    "build",
    SDK_ENTRY,
    "--target=browser",
    "--format=esm",
    ...external,
    `--outfile=${out}`,
  ];
  const built = Bun.spawnSync(args, { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`the SDK package failed to build:\n${built.stderr}`);
  writeFileSync(join(outDir, "index.d.ts"), declarations);
  writeFileSync(join(outDir, "package.json"), readFileSync(join(root, "sdk/package.json")));
  return ["index.d.ts", "index.js", "package.json"];
}
