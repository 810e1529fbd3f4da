// Extracted-runtime helpers shared by the tests and the bench: a runtime data dir whose key is
// known up front (so the middleware can pin it before the runtime starts) and the process itself.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toBase64Url } from "../../sdk/crypto/encoding.ts";
import { keyId } from "../../sdk/crypto/keys.ts";
import { deriveP256KeyPair } from "../../src/crypto/keys.ts";
import { baseEnv, collectLines, tempDir } from "./auditor-process.ts";

export function runtimeKeyDir(): { dir: string; kid: string } {
  const dir = tempDir("auditor-runtime-");
  mkdirSync(dir, { recursive: true });
  const seed = crypto.getRandomValues(new Uint8Array(32));
  writeFileSync(join(dir, "runtime-key.json"), JSON.stringify({ seed: toBase64Url(seed) }));
  return { dir, kid: keyId(deriveP256KeyPair(seed, "auditor/runtime/v1").publicKey) };
}

export interface RuntimeProcess {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  lines: string[];
}

/** `auditor runtime` from source, attached to `url` with `pin`, its log lines collected. */
export function startRuntime(url: string, pin: string, dir: string, slots = 2): RuntimeProcess {
  const proc = Bun.spawn(
    [
      process.execPath,
      "src/main.ts",
      "runtime",
      "--connect",
      url,
      "--pin",
      pin,
      "--slots",
      String(slots),
      "--data-dir",
      dir,
    ],
    {
      cwd: join(import.meta.dir, "../.."),
      env: baseEnv(dir),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const lines: string[] = [];
  void collectLines(proc.stdout, lines);
  return { proc, lines };
}
