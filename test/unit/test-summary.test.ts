// npm test's closing line counts bun's errors outside tests as failures: against a real bun run
// of a file whose describe block throws, and against summaries written out.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { readBunSummary } from "../../scripts/test-summary.ts";

describe("reading bun test's summary", () => {
  test("a describe block that throws is an error outside any test, and it is counted", async () => {
    const fixture = join(import.meta.dir, "../fixtures/bun-summary/describe-throws.ts");
    const proc = Bun.spawn([process.execPath, "test", fixture], { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    await proc.exited;
    expect(readBunSummary(out + err)).toEqual({ passed: 1, failed: 0, errors: 1 });
  });

  test("pass, fail and error lines, singular or plural; the last summary wins", () => {
    expect(readBunSummary(" 430 pass\n 4 fail\n 1 error\n")).toEqual({
      passed: 430,
      failed: 4,
      errors: 1,
    });
    expect(readBunSummary(" 2 pass\n 0 fail\n 3 errors\n")).toEqual({
      passed: 2,
      failed: 0,
      errors: 3,
    });
    const echoed = "a test printed:\n 99 pass\n 99 fail\n";
    expect(readBunSummary(`${echoed}\n 5 pass\n 1 fail\n`)).toEqual({
      passed: 5,
      failed: 1,
      errors: 0,
    });
    expect(readBunSummary("no summary at all")).toEqual({ passed: 0, failed: 0, errors: 0 });
  });
});
