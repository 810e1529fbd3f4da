// The development provider: no hardware, so no quote (attested: false). A random root key is
// made once and kept in the data dir so that restarts keep the same keys (and client pins hold).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hmac } from "@noble/hashes/hmac";
import { sha256 } from "@noble/hashes/sha2";
import { utf8 } from "../../sdk/crypto/encoding.ts";
import { deriveTeeKeys } from "./keys.ts";
import { TeeError, type Tee } from "./types.ts";

export const DEV_ROOT_KEY_FILE = "tee-dev-root.key";

export async function createDevTee(dataDir: string): Promise<Tee> {
  const root = loadOrCreateRootKey(dataDir);
  // Stands in for dstack's GetKey: independent material per key path.
  const keys = await deriveTeeKeys(async (path) => hmac(sha256, root, utf8(path)));
  const description = {
    provider: "dev" as const,
    appId: null,
    composeHash: null,
    instanceId: null,
  };
  return {
    provider: "dev",
    identityKey: () => keys.identity,
    invokeKey: () => keys.invoke,
    sealingKey: () => keys.sealing,
    info: () => description,
    quote: async () => null,
    keyProvenance: () => null,
    probe: async () => {}, // nothing outside this process to ask
  };
}

function loadOrCreateRootKey(dataDir: string): Uint8Array {
  const file = join(dataDir, DEV_ROOT_KEY_FILE);
  if (existsSync(file)) {
    const key = new Uint8Array(readFileSync(file));
    if (key.length !== 32) {
      throw new TeeError(
        `${file} holds ${key.length} bytes, expected 32: refusing to replace it (delete it to start over with new keys)`,
      );
    }
    return key;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = crypto.getRandomValues(new Uint8Array(32));
  // Write then rename, so a crash never leaves a half-written key behind.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, key, { mode: 0o600, flag: "wx" });
  renameSync(tmp, file);
  return key;
}
