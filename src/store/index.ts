export { SealedStore, SealedStateError, SealedStateFullError, type StateView, type PutOptions } from "./sealed-store.ts";
export type { StoreDescription } from "./backend.ts";
