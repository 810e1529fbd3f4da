// The runtime channel guard in a real server process (dstack TEE against the fake guest agent,
// sealed state in Redis): a probe loaded with --preload tries every network channel inside a
// function invocation and outside one. Inside, everything but ctx.fetch refuses; outside, only
// the declared channels (the guest agent socket, the state store) pass; every refusal is in the
// egress log, and nothing refused reaches the loopback target.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeDstack, type FakeDstack } from "../fixtures/fake-dstack.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";

let dstack: FakeDstack;
let server: AuditorProcess;
let target: Bun.TCPSocketListener;
let socketPath: string;
const reached: string[] = [];

beforeAll(async () => {
  socketPath = join(tempDir(), "dstack.sock");
  dstack = await startFakeDstack({ socketPath, seed: "channel-probe" });
  target = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open: () => void reached.push("connection"), data() {} },
  });
  server = await startAuditor({
    command: [process.execPath, "--preload", "./test/fixtures/channel-probe.ts", "src/main.ts"],
    env: {
      AUDITOR_TEE: "dstack",
      DSTACK_SIMULATOR_ENDPOINT: socketPath,
      AUDITOR_CORS_ORIGINS: "http://127.0.0.1",
      AUDITOR_STATE_URL: "redis://127.0.0.1:6379",
      PROBE_TARGET_PORT: String(target.port),
    },
  });
});
afterAll(async () => {
  await server?.stop();
  target?.stop(true);
  await dstack?.close();
});

/** The probes the guard lets through, by where they run. */
const PASSES = {
  inside: ["Bun.fetch (not replaceable)"],
  outside: [
    "net.connect (the guest agent's socket)",
    "Bun.RedisClient (the state store)",
    "Bun.fetch (not replaceable)",
  ],
};

describe("network channels other than function egress", () => {
  test("inside an invocation only ctx.fetch's policy applies: every other channel refuses; outside, only the declared ones pass", async () => {
    const res = await fetch(`${server.url}/invoke/channel-probe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    const { inside, outside, recorded } = await res.json();
    const probes = Object.keys(inside);
    expect(Object.keys(outside)).toEqual(probes);
    expect(probes.length).toBeGreaterThanOrEqual(36);
    const expected = (passes: string[]) =>
      Object.fromEntries(
        probes.map((name) => [name, passes.includes(name) ? "passed" : "blocked"]),
      );
    expect(inside).toEqual(expected(PASSES.inside));
    expect(outside).toEqual(expected(PASSES.outside));
    // Only Bun.fetch (once from each side) reached the target: every refusal came before a byte left.
    expect(reached).toHaveLength(2);

    // Every refusal is in the egress log, attributed to the invocation or to no function.
    const refusals = (
      recorded as {
        app: string;
        fn: string;
        method: string;
        scheme: string;
        host: string;
        allowed: boolean;
      }[]
    ).filter((e) => !e.allowed);
    const insideRefusals = refusals.filter((e) => e.app === "probe" && e.fn === "channel-probe");
    const outsideRefusals = refusals.filter((e) => e.app === "-");
    expect(insideRefusals.length).toBeGreaterThanOrEqual(probes.length - PASSES.inside.length);
    expect(outsideRefusals.length).toBeGreaterThanOrEqual(probes.length - PASSES.outside.length);
    expect(insideRefusals).toContainEqual(
      expect.objectContaining({
        method: "net.Socket.connect",
        scheme: "unix",
        host: `unix:${socketPath}`,
      }),
    );
    expect(insideRefusals).toContainEqual(
      expect.objectContaining({
        method: "Bun.RedisClient",
        scheme: "redis",
        host: "127.0.0.1:6379",
      }),
    );
    expect(outsideRefusals).toContainEqual(
      expect.objectContaining({
        method: "net.Socket.connect",
        scheme: "tcp",
        host: `127.0.0.1:${target.port}`,
      }),
    );
    expect(outsideRefusals).toContainEqual(
      expect.objectContaining({ method: "Bun.spawnSync", scheme: "process", host: "true" }),
    );
    expect(
      refusals.every(
        (e) =>
          (e as { error?: string }).error === "blocked: not an allowed channel" ||
          (e as { error?: string }).error === "blocked by egress policy",
      ),
    ).toBe(true);
  });

  test("the declared channels still work: a fresh quote from the guest agent, state in Redis", async () => {
    const attestation = await (await fetch(`${server.url}/attestation?nonce=0a0b`)).json();
    expect(attestation).toMatchObject({ attested: true, statement: { nonce: "0a0b" } });
    const invoke = await fetch(`${server.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        session_id: crypto.randomUUID(),
        transcript: "a lantern in fog",
        style_tags: "",
        vj_instruction: null,
      }),
    });
    expect(invoke.status).toBe(200);
  });

  test("the report lists every channel besides function egress, with its destination and what it carries", async () => {
    const report = await (await fetch(`${server.url}/report/etherea`)).json();
    const byName = Object.fromEntries(report.channels.map((c: { name: string }) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual([
      "dstack-guest-agent",
      "http-listener",
      "peer-instances",
      "session-directory",
      "state-store",
    ]);
    expect(byName["http-listener"]).toMatchObject({
      direction: "inbound",
      destination: server.url,
    });
    expect(byName["dstack-guest-agent"]).toMatchObject({
      direction: "outbound",
      destination: `unix:${socketPath}`,
    });
    expect(byName["dstack-guest-agent"].carries).toContain("GetQuote");
    expect(byName["state-store"]).toMatchObject({
      destination: "redis://127.0.0.1:6379",
      setBy: "AUDITOR_STATE_URL",
    });
    // Sessions across instances: the directory in the same store, and the sealed peer channel.
    expect(byName["session-directory"]).toMatchObject({
      direction: "outbound",
      destination: "redis://127.0.0.1:6379",
      setBy: "AUDITOR_STATE_URL",
    });
    expect(byName["session-directory"].carries).toContain("HMAC-SHA256-hashed");
    expect(byName["peer-instances"]).toMatchObject({
      direction: "outbound",
      setBy: "AUDITOR_INSTANCE_URL (each instance its own)",
    });
    expect(byName["peer-instances"].destination).toContain("/peer/attach");
    expect(byName["peer-instances"].carries).toContain("K_peer");
    expect(byName["http-listener"].carries).toContain("/peer/attach");
    expect(
      report.claims.some((c: { claim: string }) =>
        c.claim.startsWith("besides function egress, the process opens only these channels"),
      ),
    ).toBe(true);
    const markdown = await (
      await fetch(`${server.url}/report/etherea`, { headers: { accept: "text/markdown" } })
    ).text();
    expect(markdown).toContain("## Other channels");
    expect(markdown).toContain(`dstack-guest-agent (outbound): unix:${socketPath}`);
  });
});
