// The attested functions' host, for the rest of the server: hosting and invoking them (plain or
// sealed), their answers' receipts, and the same functions as session tools.
export {
  defineFunction,
  FUNCTION_FAILURE_STATUSES,
  FunctionErrorSchema,
  FunctionFailure,
  type FunctionDefinition,
  type RegisteredFunction,
} from "./define.ts";
export { FunctionHost, type HostDeps, type HostedFunction, type InvokeMode } from "./host.ts";
export type { FailureKind, InvokeOutcome } from "./outcome.ts";
export { ReceiptSigner } from "./receipts.ts";
export {
  SEALED_CONTENT_TYPE,
  SealedInvoker,
  SealedRequestSchema,
  SealedResponseSchema,
  type SealedRefusal,
  type SealedResponse,
} from "./sealed-invoke.ts";
export { functionTools } from "./tools.ts";
