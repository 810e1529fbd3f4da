// Sessions on an extracted runtime: the same 10-tool-call session as bench/sessions.ts, with the
// script running in a separate `auditor runtime` process (every event and tool call crossing a
// sealed WebSocket), next to the embedded figure in the same run.
import { startAuditor } from "../test/helpers/auditor-process.ts";
import { runtimeKeyDir, startRuntime } from "../test/helpers/runtime.ts";
import { ITERATIONS, sample, type Recorder } from "./lib.ts";

const TEN_ECHOES = `let total = 0; for (let i = 0; i < 10; i++) { const r = await callTool("echo", { n: i }); total += r.n; } return total;`;

export async function benchExtracted(r: Recorder): Promise<void> {
  r.section(
    `Extracted runtime: the 10-tool-call session on an \`auditor runtime\` process (${Math.ceil(ITERATIONS / 4)} sessions)`,
  );
  const { dir, kid: runtimeKid } = runtimeKeyDir();
  const middleware = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      AUDITOR_RUNTIME_KEYS: runtimeKid,
      AUDITOR_RATE_LIMIT_PER_MIN: "1000000",
    },
  });
  const { statement } = await (await fetch(`${middleware.url}/attestation`)).json();
  const runtime = startRuntime(middleware.url, statement.kid, dir, 4);
  try {
    for (
      let i = 0;
      i < 400 && middleware.lines.filter((l) => l.includes("runtime slot attached")).length < 4;
      i++
    )
      await Bun.sleep(25);
    const run = await sample(
      async () => {
        const res = await fetch(`${middleware.url}/sessions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ protocolVersion: 1, code: TEN_ECHOES }),
        });
        const text = await res.text();
        if (!text.includes('"ok":true')) throw new Error(`session failed: ${text.slice(-300)}`);
      },
      Math.ceil(ITERATIONS / 4),
      20,
    );
    r.add(
      "extracted_session_10_calls_p50",
      "10-tool-call session on an extracted runtime, p50",
      run.p50,
      "ms",
      { p99: run.p99 },
    );
  } finally {
    runtime.proc.kill();
    await middleware.stop();
  }
}
