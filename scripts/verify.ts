// The same verifier as `auditor verify`, run from a checkout: bun scripts/verify.ts <url> [options].
import { runVerify } from "../src/verify/cli.ts";

process.exit(await runVerify(process.argv.slice(2)));
