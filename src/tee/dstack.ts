// The production provider: keys and quotes from the dstack guest agent through the official SDK.
import { existsSync } from "node:fs";
import { DstackClient } from "@phala/dstack-sdk";
import { deriveTeeKeys } from "./keys.ts";
import { TeeError, type Tee } from "./types.ts";

export const DSTACK_SOCKET_PATHS = [
  "/var/run/dstack.sock",
  "/run/dstack.sock",
  "/var/run/dstack/dstack.sock",
  "/run/dstack/dstack.sock",
] as const;

/** The endpoint to use: the configured one, else the first socket that exists, else the default. */
export function resolveDstackEndpoint(configured: string | undefined): string {
  return configured ?? DSTACK_SOCKET_PATHS.find((p) => existsSync(p)) ?? DSTACK_SOCKET_PATHS[0];
}

export function dstackEndpointExists(endpoint: string): boolean {
  return /^https?:\/\//.test(endpoint) || existsSync(endpoint);
}

export async function createDstackTee(endpoint: string): Promise<Tee> {
  if (!dstackEndpointExists(endpoint)) {
    throw new TeeError(
      `AUDITOR_TEE=dstack but the dstack guest agent socket ${endpoint} does not exist ` +
        `(mount /var/run/dstack.sock into the container, or set DSTACK_SIMULATOR_ENDPOINT)`,
    );
  }
  const client = new DstackClient(endpoint);
  const rpc = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw new TeeError(`dstack guest agent at ${endpoint}: ${what} failed: ${(err as Error).message}`);
    }
  };

  const agentInfo = await rpc("Info", () => client.info());
  const keys = await deriveTeeKeys(async (path) => {
    const { key } = await rpc(`GetKey(${path})`, () => client.getKey(path, "auditor"));
    if (key.length < 32) throw new TeeError(`dstack guest agent returned a ${key.length}-byte key for ${path}`);
    return key;
  });
  const description = {
    provider: "dstack" as const,
    appId: agentInfo.app_id,
    composeHash: agentInfo.compose_hash,
    instanceId: agentInfo.instance_id,
  };

  return {
    provider: "dstack",
    identityKey: () => keys.identity,
    invokeKey: () => keys.invoke,
    sealingKey: () => keys.sealing,
    info: () => description,
    async quote(reportData) {
      if (reportData.length > 64) throw new TeeError("report data is at most 64 bytes");
      // Bytes, not a string: the SDK would UTF-8-encode a string rather than hex-decode it.
      const result = await rpc("GetQuote", () => client.getQuote(reportData));
      return { quote: result.quote, eventLog: result.event_log };
    },
  };
}
