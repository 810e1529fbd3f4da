export { SealedStore, SealedStateError, SealedStateFullError, type StateView, type PutOptions } from "./sealed-store.ts";
