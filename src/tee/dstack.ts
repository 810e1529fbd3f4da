// The production provider: keys and quotes from the dstack guest agent through the official SDK.
import { existsSync } from "node:fs";
import { DstackClient } from "@phala/dstack-sdk";
import { secp256k1 } from "@noble/curves/secp256k1";
import { toHex } from "../../sdk/crypto/encoding.ts";
import type { KeyProvenance } from "../../sdk/wire/attestation.ts";
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

/**
 * PROBE_TIMEOUT_MS = 2 s for a readiness probe of the guest agent (Info is a local socket
 * call answered in milliseconds; an agent that takes longer is not serving).
 */
const PROBE_TIMEOUT_MS = 2_000;

/** The GetKey purpose: part of what the app key signs in each signature chain. */
const KEY_PURPOSE = "auditor";

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
      throw new TeeError(
        `dstack guest agent at ${endpoint}: ${what} failed: ${(err as Error).message}`,
      );
    }
  };

  const agentInfo = await rpc("Info", () => client.info());
  // Each path's signature chain is kept (never the key) so verifiers can check it up to the KMS
  // root; the signed public key is the secp256k1 key of the material, as the agent computes it.
  const provenance: KeyProvenance = {};
  const keys = await deriveTeeKeys(async (path) => {
    const { key, signature_chain } = await rpc(`GetKey(${path})`, () =>
      client.getKey(path, KEY_PURPOSE),
    );
    if (key.length < 32)
      throw new TeeError(`dstack guest agent returned a ${key.length}-byte key for ${path}`);
    provenance[path] = {
      purpose: KEY_PURPOSE,
      publicKey: toHex(secp256k1.getPublicKey(key.subarray(0, 32), true)),
      signatureChain: signature_chain.map(toHex),
    };
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
    keyProvenance: () => provenance,
    async probe() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        const slow = new TeeError(`dstack guest agent: Info took over ${PROBE_TIMEOUT_MS} ms`);
        timer = setTimeout(() => reject(slow), PROBE_TIMEOUT_MS);
      });
      try {
        await Promise.race([rpc("Info", () => client.info()), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async quote(reportData) {
      if (reportData.length > 64) throw new TeeError("report data is at most 64 bytes");
      // Bytes, not a string: the SDK would UTF-8-encode a string rather than hex-decode it.
      const result = await rpc("GetQuote", () => client.getQuote(reportData));
      return {
        quote: result.quote,
        eventLog: result.event_log,
        vmConfig: result.vm_config ?? null,
      };
    },
  };
}
