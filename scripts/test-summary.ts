// Reads the closing summary of `bun test` (" 12 pass", " 0 fail", " 1 error" on their own
// lines) for npm test's "N passed, N failed". An error outside any test (a describe block that
// throws, a file that fails to load) is a failure too: bun lists it only as "N error(s)".
export interface BunSummary {
  passed: number;
  failed: number;
  errors: number;
}

export function readBunSummary(output: string): BunSummary {
  // The last summary wins: a test's own output may contain lines that look like one.
  const count = (word: string) => {
    const matches = [...output.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
    return matches.length ? Number(matches[matches.length - 1]![1]) : 0;
  };
  return { passed: count("pass"), failed: count("fail"), errors: count("errors?") };
}
