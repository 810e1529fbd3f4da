// Start-up: flags, configuration errors, TEE selection failures, structured logs.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runAuditor, safeJson, startAuditor, tempDir } from "../helpers/auditor-process.ts";
import { OPTIONS } from "../../src/config.ts";
import { sid } from "../helpers/session-id.ts";

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !check(); i++) await Bun.sleep(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe("start-up", () => {
  test("--help lists every flag and environment variable", async () => {
    const { stdout, code } = await runAuditor({ args: ["--help"] });
    expect(code).toBe(0);
    for (const option of Object.values(OPTIONS)) {
      if ("flag" in option) expect(stdout).toContain(option.flag);
      expect(stdout).toContain(option.env);
    }
  });

  test("--version prints the version and says there is no digest when run from source", async () => {
    const { stdout, code } = await runAuditor({ args: ["--version"] });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^auditor \d+\.\d+\.\d+\nsha256 none/);
  });

  test("a bad value stops start-up and names the variable", async () => {
    const env = await runAuditor({ env: { PORT: "eighty" } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("PORT");
    expect(env.stderr).not.toContain("    at "); // no stack trace

    const flag = await runAuditor({ args: ["--log-level=verbose"] });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--log-level");
  });

  test("AUDITOR_TEE=dstack with a missing socket fails loudly, never falls back to dev", async () => {
    const socket = join(tempDir(), "missing.sock");
    const { code, stderr, stdout } = await runAuditor({
      env: { AUDITOR_TEE: "dstack", DSTACK_SIMULATOR_ENDPOINT: socket },
    });
    expect(code).toBe(1);
    expect(stderr).toContain(`dstack guest agent socket ${socket} does not exist`);
    expect(stdout).not.toContain('"msg":"listening"');
  });

  test("a socket that is not a guest agent fails start-up with a clear message", async () => {
    const dir = tempDir();
    const socket = join(dir, "not-an-agent.sock");
    const listener = Bun.listen({ unix: socket, socket: { data: (s) => void s.end("garbage") } });
    try {
      const { code, stderr } = await runAuditor({
        env: { AUDITOR_TEE: "dstack", DSTACK_SIMULATOR_ENDPOINT: socket },
      });
      expect(code).toBe(1);
      expect(stderr).toContain(`dstack guest agent at ${socket}: Info failed`);
    } finally {
      listener.stop(true);
    }
  });

  test("a corrupt dev key file is refused, not silently replaced", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "tee-dev-root.key"), "short");
    const { code, stderr } = await runAuditor({ dataDir, env: { AUDITOR_TEE: "dev" } });
    expect(code).toBe(1);
    expect(stderr).toContain("holds 5 bytes, expected 32");
  });

  test("a port already in use prints one clean line and exits non-zero", async () => {
    const holder = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Response("taken"),
    });
    try {
      const { code, stderr, stdout } = await runAuditor({
        env: { AUDITOR_TEE: "dev", PORT: String(holder.port) },
      });
      expect(code).toBe(1);
      expect(stderr).toBe(`auditor: port ${holder.port} is already in use (set PORT or --port)\n`);
      expect(stdout).not.toContain('"msg":"listening"');
    } finally {
      holder.stop(true);
    }
  });

  test("{instanceId} in AUDITOR_INSTANCE_URL without a guest agent's instance id stops start-up", async () => {
    const { code, stderr } = await runAuditor({
      env: {
        AUDITOR_TEE: "dev",
        AUDITOR_INSTANCE_URL: "https://{instanceId}-8787.gateway.example",
      },
    });
    expect(code).toBe(2);
    expect(stderr).toBe(
      "auditor: AUDITOR_INSTANCE_URL: {instanceId} needs an instance id from the dstack guest agent, and this TEE gives none\n",
    );
  });

  test("an address that is not this machine's is one clean line too", async () => {
    const { code, stderr } = await runAuditor({ env: { AUDITOR_TEE: "dev", HOST: "192.0.2.1" } });
    expect(code).toBe(1);
    expect(stderr).toBe(
      "auditor: 192.0.2.1 is not an address of this machine (set HOST or --host)\n",
    );
  });

  test("start-up tells people, on stderr, the VJ page's URL and that dev mode is not attested", async () => {
    const s = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
    try {
      await until(() => s.stderr().includes("auditor: serving"), "the start-up line");
      expect(s.stderr()).toBe(`auditor: serving ETHEREA at ${s.url}/ (dev mode: not attested)\n`);
      // The JSON log on stdout stays JSON only.
      for (const line of s.lines) expect(safeJson(line)).toBeDefined();
    } finally {
      await s.stop();
    }
  });

  test("logs are JSON lines without query values; errors are JSON without stacks", async () => {
    const s = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
    try {
      const health = await fetch(`${s.url}/healthz`);
      expect(await health.json()).toMatchObject({ ok: true, tee: "dev", binarySha256: null });
      expect(health.headers.get("x-content-type-options")).toBe("nosniff");
      await fetch(`${s.url}/attestation?nonce=5ec2e7`);
      const missing = await fetch(`${s.url}/no/such/route`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({
        error: "not_found",
        message: "no route for GET /no/such/route",
      });
    } finally {
      await s.stop();
    }
    for (const line of s.lines) expect(safeJson(line)).toBeDefined();
    const requests = s.lines.map(safeJson).filter((e) => e?.msg === "request");
    expect(requests.map((r) => r!.path)).toEqual(["/healthz", "/attestation", "/no/such/route"]);
    expect(s.lines.join("\n")).not.toContain("5ec2e7");
  });
});

describe("CORS at start-up", () => {
  test('AUDITOR_CORS_ORIGINS="*" with the dstack TEE stops start-up', async () => {
    const { startFakeDstack } = await import("../fixtures/fake-dstack.ts");
    const socketPath = join(tempDir(), "dstack.sock");
    const fake = await startFakeDstack({ socketPath });
    try {
      const { code, stderr } = await runAuditor({
        env: {
          AUDITOR_TEE: "dstack",
          DSTACK_SIMULATOR_ENDPOINT: socketPath,
          AUDITOR_CORS_ORIGINS: "*",
        },
      });
      expect(code).toBe(2);
      expect(stderr).toContain('AUDITOR_CORS_ORIGINS="*" is allowed only with the dev TEE');
    } finally {
      await fake.close();
    }
  });

  test("npm start defaults (dev TEE) let a page from another origin call a function", async () => {
    const s = await startAuditor();
    try {
      const res = await fetch(`${s.url}/invoke/generate-prompt`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://localhost:5173" },
        body: JSON.stringify({
          session_id: sid("dev"),
          transcript: "a paper moon over a lake",
          style_tags: "",
          vj_instruction: "jump",
        }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect((await res.json()).provider_used).toBe("local");
    } finally {
      await s.stop();
    }
  });
});
