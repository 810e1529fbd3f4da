// Sessions on an extracted runtime: the same 10-tool-call session as bench/sessions.ts, with the
// script running in a separate `auditor runtime` process (every event and tool call crossing a
// sealed WebSocket), next to the embedded figure in the same run.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toBase64Url } from "../src/crypto/encoding.ts";
import { deriveP256KeyPair, keyId } from "../src/crypto/keys.ts";
import { baseEnv, startAuditor, tempDir } from "../test/helpers/auditor-process.ts";
import { ITERATIONS, sample, type Recorder } from "./lib.ts";

const TEN_ECHOES = `let total = 0; for (let i = 0; i < 10; i++) { const r = await callTool("echo", { n: i }); total += r.n; } return total;`;

export async function benchExtracted(r: Recorder, root: string): Promise<void> {
  r.section(`Extracted runtime: the 10-tool-call session on an \`auditor runtime\` process (${Math.ceil(ITERATIONS / 4)} sessions)`);
  const dir = tempDir("auditor-bench-runtime-");
  mkdirSync(dir, { recursive: true });
  const seed = crypto.getRandomValues(new Uint8Array(32));
  writeFileSync(join(dir, "runtime-key.json"), JSON.stringify({ seed: toBase64Url(seed) }));
  const runtimeKid = keyId(deriveP256KeyPair(seed, "auditor/runtime/v1").publicKey);
  const middleware = await startAuditor({ env: { AUDITOR_TEE: "dev", AUDITOR_RUNTIME_KEYS: runtimeKid, AUDITOR_RATE_LIMIT_PER_MIN: "1000000" } });
  const { statement } = await (await fetch(`${middleware.url}/attestation`)).json();
  const runtime = Bun.spawn([process.execPath, "src/main.ts", "runtime", "--connect", middleware.url, "--pin", statement.kid, "--slots", "4", "--data-dir", dir], { cwd: root, env: baseEnv(dir), stdout: "ignore", stderr: "ignore" });
  try {
    for (let i = 0; i < 400 && middleware.lines.filter((l) => l.includes("runtime slot attached")).length < 4; i++) await Bun.sleep(25);
    const run = await sample(async () => {
      const res = await fetch(`${middleware.url}/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ protocolVersion: 1, code: TEN_ECHOES }) });
      const text = await res.text();
      if (!text.includes('"ok":true')) throw new Error(`session failed: ${text.slice(-300)}`);
    }, Math.ceil(ITERATIONS / 4), 20);
    r.add("extracted_session_10_calls_p50", "10-tool-call session on an extracted runtime, p50", run.p50, "ms", { p99: run.p99 });
  } finally {
    runtime.kill();
    await middleware.stop();
  }
}
