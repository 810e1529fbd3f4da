// Sessions across instances: what forwarding adds to a control request. Two server processes of
// one app share a Redis (the session directory); one session lives on the first. The same
// POST /sessions/:id/input (a repeat of an applied value: a real trip through the tool-call
// ledger, a no-op by contract) is timed sent to the owner and sent to the other instance,
// which looks the owner up and forwards it over the sealed peer channel.
import { RedisClient } from "bun";
import { startAuditor, tempDir, type AuditorProcess } from "../test/helpers/auditor-process.ts";
import { sample, type Recorder } from "./lib.ts";

/** A Redis database the test suites' clean-ups never touch (as sessions-across-instances uses). */
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/12";

export async function benchForwarding(r: Recorder): Promise<void> {
  r.section("Sessions across instances (two processes, directory in Redis)");
  try {
    const redis = new RedisClient(REDIS_URL);
    await redis.send("PING", []);
    redis.close();
  } catch {
    console.log(
      `skipped: no Redis at ${REDIS_URL} (set BENCH_REDIS_URL, or run scripts/test-services.sh)`,
    );
    return;
  }
  const dataDir = tempDir();
  const env = {
    AUDITOR_TEE: "dev",
    AUDITOR_STATE_URL: REDIS_URL,
    AUDITOR_RATE_LIMIT_PER_MIN: "1000000",
  };
  const instances: AuditorProcess[] = [];
  try {
    // One after the other: the first makes the dev root key both share.
    instances.push(await startAuditor({ dataDir, env }));
    instances.push(await startAuditor({ dataDir, env }));
    const [owner, other] = instances as [AuditorProcess, AuditorProcess];
    const res = await fetch(`${owner.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        protocolVersion: 1,
        code: 'await callTool("input", {}); await callTool("input", {}); return 1;',
      }),
    });
    const reader = res.body!.getReader();
    let text = "";
    while (text.split("\n").length < 3)
      text += new TextDecoder().decode((await reader.read()).value);
    const [init, call] = text
      .split("\n")
      .slice(0, 2)
      .map((line) => JSON.parse(line));
    const input = (base: string) =>
      fetch(`${base}/sessions/${init.sessionId}/input`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${init.payload.sessionToken}`,
        },
        body: JSON.stringify({ callId: call.payload.callId, value: "bench" }),
      }).then(async (reply) => {
        if (reply.status !== 200)
          throw new Error(`input answered ${reply.status}: ${await reply.text()}`);
        await reply.arrayBuffer();
      });
    await input(owner.url); // applied once; every timed request repeats it
    const direct = await sample(() => input(owner.url));
    const forwarded = await sample(() => input(other.url));
    r.add("input_direct_p50", "POST /sessions/:id/input to the owner, p50", direct.p50, "ms", {
      p99: direct.p99,
    });
    r.add(
      "input_forwarded_p50",
      "the same through the other instance (forwarded), p50",
      forwarded.p50,
      "ms",
      { p99: forwarded.p99 },
    );
    r.add("forwarding_added_p50", "added by forwarding, p50", forwarded.p50 - direct.p50, "ms");
    r.add("forwarding_added_p99", "added by forwarding, p99", forwarded.p99 - direct.p99, "ms");
    await reader.cancel();
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
  }
}
