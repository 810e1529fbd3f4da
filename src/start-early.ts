// Imported first by src/main.ts, so it runs before any other module is evaluated: begins the
// start-up work that can go on beside the rest (hashing the binary for its statement). The
// verify and runtime subcommands make no statement, so they are spared it.
import { selfDigest } from "./self-digest.ts";

const subcommand = process.argv[2];
if (subcommand !== "verify" && subcommand !== "runtime") void selfDigest().catch(() => {});
