// The reference sidecar, for the rest of the server: values kept host-side behind ref tokens,
// and redaction of paths in what leaves.
export { DEFAULT_REF_LIMITS, RefError, RefSidecar, type RefLimits } from "./refs.ts";
export { redactPaths } from "./redact.ts";
