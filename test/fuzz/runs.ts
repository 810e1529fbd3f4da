// How many cases each fuzz target runs: a quick sample in `npm test`, FUZZ_RUNS=10000 (or more)
// for a real campaign (`npm run fuzz`).
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** A generous per-test timeout that scales with the run count. */
export const FUZZ_TIMEOUT_MS = 30_000 + FUZZ_RUNS * 20;
