// A client written from the seed protocol's TypeScript shapes alone (below, typed here, not
// imported from the project) reads console output from a real session: stdout chunks and all
// four log levels, plaintext and encrypted (the encrypted one through the spec-only client).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { open, SpecClient, type EncLine } from "../helpers/spec-client.ts";

// The seed protocol's event payloads, as its client would declare them.
type StdoutPayload = { chunk: string };
type LogPayload = {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  data?: Record<string, unknown>;
};
type SeedEvent =
  | { protocolVersion: 1; sessionId: string; seq: number; type: "stdout"; payload: StdoutPayload }
  | { protocolVersion: 1; sessionId: string; seq: number; type: "log"; payload: LogPayload }
  | {
      protocolVersion: 1;
      sessionId: string;
      seq: number;
      type: "session_init" | "final" | "tool_call" | "tool_result_applied" | "heartbeat" | "error";
      payload: Record<string, unknown>;
    };

const SCRIPT = `
  console.log("frame", 1);
  console.debug("tick", { at: 2 });
  console.info("scene", "dawn");
  console.warn("slow upstream");
  console.error("failed", { code: "E1", retry: true });
  return "done";
`;

const EXPECTED: (StdoutPayload | LogPayload)[] = [
  { chunk: "frame 1\n" },
  { level: "debug", message: "tick", data: { at: 2 } },
  { level: "info", message: "scene", data: { args: ["dawn"] } },
  { level: "warn", message: "slow upstream" },
  { level: "error", message: "failed", data: { code: "E1", retry: true } },
];

let server: AuditorProcess;
beforeAll(async () => {
  server = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
});
afterAll(async () => {
  await server?.stop();
});

const consoleOutput = (events: SeedEvent[]) =>
  events
    .filter(
      (e): e is Extract<SeedEvent, { type: "stdout" | "log" }> =>
        e.type === "stdout" || e.type === "log",
    )
    .map((e) => e.payload);

describe("console output in the seed protocol's shapes", () => {
  test("plaintext: stdout { chunk } and log { level, message, data? } for all four levels", async () => {
    const res = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ protocolVersion: 1, code: SCRIPT }),
    });
    const events = (await res.text())
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as SeedEvent);
    expect(consoleOutput(events)).toEqual(EXPECTED);
    expect(events.at(-1)).toMatchObject({ type: "final", payload: { ok: true, result: "done" } });
  });

  test("encrypted: the same payloads inside the envelopes", async () => {
    const { statement } = await (await fetch(`${server.url}/attestation`)).json();
    const client = await SpecClient.create(statement.identityKey);
    const res = await fetch(`${server.url}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        protocolVersion: 1,
        code: SCRIPT,
        encryption: { mode: "required", clientPublicKey: client.publicKeyB64 },
      }),
    });
    const lines = (await res.text())
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    const init = lines[0] as SeedEvent & {
      payload: {
        encryption: { enabled: boolean; kid: string; serverPublicKey: string; signature: string };
      };
    };
    const keys = await client.handshake(init.sessionId, init.payload.encryption);
    const events: SeedEvent[] = [init];
    let seq = init.seq;
    for (const line of lines.slice(1) as EncLine[])
      events.push(
        (await open(keys.s2c, line, ++seq, init.payload.encryption.kid)) as unknown as SeedEvent,
      );
    expect(consoleOutput(events)).toEqual(EXPECTED);
    expect(events.at(-1)).toMatchObject({ type: "final", payload: { ok: true, result: "done" } });
  });
});
