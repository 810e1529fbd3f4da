// What POST /invoke/generate-prompt adds over calling the upstream directly, and what the
// sealed-state write costs on its own.
import { startFakeLlm } from "../test/fixtures/fake-llm.ts";
import { startAuditor, tempDir } from "../test/helpers/auditor-process.ts";
import { SealedStore } from "../src/store/index.ts";
import { sample, type Recorder } from "./lib.ts";

export async function benchInvoke(r: Recorder): Promise<void> {
  r.section(
    "Attested function: POST /invoke/generate-prompt vs a direct upstream call (sequential)",
  );
  const llm = startFakeLlm();
  // Default log level (info): one request line per call, as in production.
  const server = await startAuditor({
    env: {
      AUDITOR_TEE: "dev",
      OPENROUTER_API_KEY: "sk-or-bench",
      OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
      AUDITOR_RATE_LIMIT_PER_MIN: "1000000",
    },
  });
  const body = (i: number) =>
    JSON.stringify({
      session_id: `bench-session-${String(i % 50).padStart(8, "0")}-0000`,
      transcript: "a slow drift of bioluminescent jellyfish over a drowned city",
      style_tags: "artist:moebius",
      vj_instruction: "evolve",
    });
  const upstreamBody = JSON.stringify({
    model: "openai/gpt-oss-120b",
    messages: [{ role: "user", content: "x".repeat(1200) }],
    max_tokens: 300,
  });
  try {
    const direct = await sample(async () => {
      await (
        await fetch(`${llm.openrouterBaseUrl}/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: upstreamBody,
        })
      ).text();
      llm.reset();
    });
    const invoked = await sample(async (i) => {
      const res = await fetch(`${server.url}/invoke/generate-prompt`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body(i),
      });
      if (res.status !== 200) throw new Error(`invoke failed: ${res.status} ${await res.text()}`);
      await res.text();
      llm.reset();
    });
    r.add("upstream_direct_p50", "direct POST to the fake upstream, p50", direct.p50, "ms", {
      p99: direct.p99,
    });
    r.add("invoke_p50", "POST /invoke/generate-prompt, p50", invoked.p50, "ms", {
      p99: invoked.p99,
    });
    r.add(
      "invoke_added_p50",
      "added by the Auditor (audited egress, sealed state, logs), p50",
      invoked.p50 - direct.p50,
      "ms",
      { p99: invoked.p99 - direct.p99, target: { op: "<", value: 1, source: "issue 3" } },
    );
  } finally {
    await server.stop();
    llm.close();
  }
}

export async function benchSealedState(r: Recorder): Promise<void> {
  r.section("Sealed state (bun:sqlite WAL, AES-256-GCM per value, in process)");
  const store = await SealedStore.open(tempDir(), crypto.getRandomValues(new Uint8Array(32)));
  try {
    const session = {
      recent_prompts: ["a".repeat(280), "b".repeat(280), "c".repeat(280), "", ""],
      created_at: Date.now(),
    };
    const update = await sample((i) =>
      store.update(
        `app/etherea/sessions/bench-${i % 50}`,
        (current: typeof session | undefined) => current ?? session,
        { ttlMs: 86_400_000 },
      ),
    );
    r.add("state_update_p50", "read + rotate + write one ETHEREA session, p50", update.p50, "ms", {
      p99: update.p99,
    });
    const N = 5_000;
    let t = performance.now();
    for (let i = 0; i < N; i++) await store.put(`bench/w/${i}`, session);
    r.add(
      "state_writes_per_s",
      "sealed writes (1 KB values, each its own transaction)",
      N / ((performance.now() - t) / 1000),
      "writes/s",
    );
    t = performance.now();
    for (let i = 0; i < N; i++) await store.get(`bench/w/${i}`);
    r.add(
      "state_reads_per_s",
      "sealed reads (decrypt + parse)",
      N / ((performance.now() - t) / 1000),
      "reads/s",
    );
  } finally {
    store.close();
  }
}
