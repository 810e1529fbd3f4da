export { SealedStore, SealedStateError, type StateView, type PutOptions } from "./sealed-store.ts";
