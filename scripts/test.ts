// npm test: the format and lint check, the type check, then every bun test suite; closes with
// "N passed, N failed". Each check counts as one test; each error bun reports outside any test
// counts as one failure (a file that fails to load is then counted twice: a fail and an error).
import { readBunSummary } from "./test-summary.ts";

async function run(cmd: string[]): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: process.env });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      sink.write(chunk.value);
      output += decoder.decode(chunk.value, { stream: true });
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  return { code: await proc.exited, output };
}

let passed = 0;
let failed = 0;

console.log("$ biome ci");
// Read-only: a file Biome would reformat, or any lint warning, fails the step. One line per
// finding here; npm run format rewrites the files, npm run lint explains each finding.
const biomeCi = ["ci", "--error-on-warnings", "--reporter=concise", "--colors=off", "."];
const style = await run(["node_modules/.bin/biome", ...biomeCi]);
if (style.code === 0) {
  passed++;
  console.log("format and lint: ok");
} else {
  failed++;
  console.log("format and lint: FAILED");
}

console.log("$ tsc --noEmit");
const typecheck = await run(["node_modules/.bin/tsc", "--noEmit", "-p", "tsconfig.json"]);
if (typecheck.code === 0) {
  passed++;
  console.log("typecheck: ok");
} else {
  failed++;
  console.log("typecheck: FAILED");
}

console.log("$ bun test");
// bunfig.toml's timeout covers tests but not hooks (Bun 1.4.5: a beforeAll stops at 5 s); the
// flag covers both, so a slow beforeAll on a loaded CI machine is not a failure.
const tests = await run([process.execPath, "test", "--timeout=30000", ...process.argv.slice(2)]);
const summary = readBunSummary(tests.output);
passed += summary.passed;
failed += summary.failed + summary.errors;
// A crash still fails the run, even with no failing test or error counted.
if (tests.code !== 0 && summary.failed + summary.errors === 0) failed++;
if (summary.passed === 0 && summary.failed === 0 && tests.code === 0) {
  console.log("bun test ran no test");
  failed++;
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
