export {
  SealedStore,
  SealedStateError,
  SealedStateFullError,
  StoreUnavailableError,
  type StateView,
  type PutOptions,
} from "./sealed-store.ts";
export type { StoreDescription } from "./backend.ts";
export type { StoreHealthReport } from "./health.ts";
