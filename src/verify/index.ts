// `auditor verify`: checks a running Auditor from the outside, as any client would.
export { runVerify } from "./cli.ts";
