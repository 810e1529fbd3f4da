// Chooses and starts the TEE provider (DESIGN "TEE": AUDITOR_TEE, else dstack when its socket
// exists, else dev).
import type { Config } from "../config.ts";
import { createDevTee } from "./dev.ts";
import { createDstackTee, dstackEndpointExists, resolveDstackEndpoint } from "./dstack.ts";
import type { Tee } from "./types.ts";

export type { Tee, TeeQuote, TeeProvider } from "./types.ts";
export { TeeError } from "./types.ts";
export { createAttestor, type Attestor } from "./attestation.ts";
export { resolveDstackEndpoint } from "./dstack.ts";

export async function createTee(
  config: Pick<Config, "tee" | "dstackEndpoint" | "dataDir">,
): Promise<Tee> {
  const endpoint = resolveDstackEndpoint(config.dstackEndpoint);
  const provider = config.tee ?? (dstackEndpointExists(endpoint) ? "dstack" : "dev");
  return provider === "dstack" ? createDstackTee(endpoint) : createDevTee(config.dataDir);
}
