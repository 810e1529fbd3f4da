// npm test: the type check, then every bun test suite; closes with "N passed, N failed".
// The type check counts as one test.
export {};

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
const tests = await run([process.execPath, "test", ...process.argv.slice(2)]);
// bun's summary: " 12 pass", " 0 fail" on their own lines.
const count = (word: string) => {
  const matches = [...tests.output.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
  return matches.length ? Number(matches[matches.length - 1]![1]) : 0;
};
const bunPassed = count("pass");
const bunFailed = count("fail");
passed += bunPassed;
failed += bunFailed;
// A crash or an error outside any test still fails the run, even with no failing test counted.
if (tests.code !== 0 && bunFailed === 0) failed++;
if (bunPassed === 0 && bunFailed === 0 && tests.code === 0) {
  console.log("bun test ran no test");
  failed++;
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
