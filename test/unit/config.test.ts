import { describe, expect, test } from "bun:test";
import {
  ConfigError,
  defaultInstanceUrl,
  helpText,
  instanceUrlFor,
  loadConfig,
  OPTIONS,
  redacted,
} from "../../src/config.ts";
import { resolveCorsOrigins } from "../../src/http/cors-origins.ts";

/** The message of the ConfigError a configuration raises. */
function refusal(env: Record<string, string>, argv: string[] = []): string {
  try {
    loadConfig(env, argv);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  test("defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8787,
      host: "127.0.0.1",
      dataDir: "./data",
      logLevel: "info",
      shutdownGraceMs: 10_000,
    });
    expect(config.tee).toBeUndefined();
  });

  test("env is read, flags override it (both --flag value and --flag=value)", () => {
    expect(loadConfig({ PORT: "9000" }).port).toBe(9000);
    expect(loadConfig({ PORT: "9000" }, ["--port", "9001"]).port).toBe(9001);
    expect(loadConfig({ AUDITOR_TEE: "dstack" }, ["--tee=dev"]).tee).toBe("dev");
  });

  test("a bad value names the variable or the flag that carried it", () => {
    expect(() => loadConfig({ PORT: "abc" })).toThrow(/PORT: .*"abc"/);
    expect(() => loadConfig({}, ["--port", "70000"])).toThrow(/--port: .*"70000"/);
    expect(() => loadConfig({ AUDITOR_TEE: "sgx" })).toThrow(/AUDITOR_TEE/);
    expect(() => loadConfig({ LOG_LEVEL: "loud" })).toThrow(/LOG_LEVEL/);
    expect(() => loadConfig({ AUDITOR_SHUTDOWN_GRACE_MS: "0" })).toThrow(
      /AUDITOR_SHUTDOWN_GRACE_MS/,
    );
  });

  test("every problem is reported at once", () => {
    try {
      loadConfig({ PORT: "x", LOG_LEVEL: "y" });
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain("PORT");
      expect((err as Error).message).toContain("LOG_LEVEL");
    }
  });

  test("unknown flags and flags without a value are refused", () => {
    expect(() => loadConfig({}, ["--prot", "1"])).toThrow('unknown argument "--prot"');
    expect(() => loadConfig({}, ["--port"])).toThrow("--port needs a value");
  });

  test("URL settings with credentials or a query are refused, naming the variable and never echoing the secret", () => {
    const cases: [Record<string, string>, string[], string][] = [
      [
        { OPENROUTER_BASE_URL: "http://user:hunter2@127.0.0.1:9/api/v1" },
        [],
        "OPENROUTER_BASE_URL: must not carry credentials",
      ],
      [
        { ANTHROPIC_BASE_URL: "https://api.example/v1?key=hunter2" },
        [],
        "ANTHROPIC_BASE_URL: must not carry a query string",
      ],
      [
        { ANTHROPIC_BASE_URL: "https://api.example/v1#hunter2" },
        [],
        "ANTHROPIC_BASE_URL: must not carry a query string or fragment",
      ],
      [
        {},
        ["--openrouter-base-url", "https://u:hunter2@openrouter.example/api"],
        "--openrouter-base-url: must not carry credentials",
      ],
      [
        {},
        ["--anthropic-base-url=https://x.example/?token=hunter2"],
        "--anthropic-base-url: must not carry a query",
      ],
      [
        { DSTACK_SIMULATOR_ENDPOINT: "http://admin:hunter2@127.0.0.1:8090" },
        [],
        "DSTACK_SIMULATOR_ENDPOINT: must not carry credentials",
      ],
      [
        {},
        ["--dstack-endpoint", "https://127.0.0.1:8090/?t=hunter2"],
        "--dstack-endpoint: must not carry a query",
      ],
      [
        { FIRESTORE_EMULATOR_HOST: "user:hunter2@127.0.0.1:8080" },
        [],
        "FIRESTORE_EMULATOR_HOST: must be host:port",
      ],
      [
        {},
        ["--firestore-emulator-host", "user:hunter2@127.0.0.1:8080"],
        "--firestore-emulator-host: must be host:port",
      ],
      [
        { AUDITOR_INSTANCE_URL: "http://peer:hunter2@10.0.0.2:8787" },
        [],
        "AUDITOR_INSTANCE_URL: must not carry credentials",
      ],
      [
        { AUDITOR_INSTANCE_URL: "http://10.0.0.2:8787/?hunter2" },
        [],
        "AUDITOR_INSTANCE_URL: must not carry a query",
      ],
      [
        {},
        ["--instance-url", "http://10.0.0.2:8787#hunter2"],
        "--instance-url: must not carry a query string or fragment",
      ],
      [
        { AUDITOR_INSTANCE_URL: "ws://10.0.0.2:8787" },
        [],
        "AUDITOR_INSTANCE_URL: must be an http(s) URL",
      ],
    ];
    for (const [env, argv, expected] of cases) {
      const message = refusal(env, argv);
      expect(message).toContain(expected);
      expect(message).not.toContain("hunter2");
    }
    // A socket path, or a plain URL, is fine; AUDITOR_STATE_URL (a secret) may carry credentials.
    expect(loadConfig({ DSTACK_SIMULATOR_ENDPOINT: "/tmp/dstack.sock" }).dstackEndpoint).toBe(
      "/tmp/dstack.sock",
    );
    expect(
      loadConfig({ OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1/" }).openrouterBaseUrl,
    ).toBe("http://127.0.0.1:9/api/v1");
    expect(
      loadConfig({ AUDITOR_STATE_URL: "postgres://u:pw@db:5432/x?sslmode=require" }).stateUrl,
    ).toContain("pw@");
    expect(refusal({ AUDITOR_STATE_URL: "mysql://u:hunter2@db/x" })).not.toContain("hunter2");
  });

  test("peers reach an instance at AUDITOR_INSTANCE_URL, by default at its own address unless it listens on all", () => {
    expect(loadConfig({ AUDITOR_INSTANCE_URL: "https://10.0.0.2:8787/" }).instanceUrl).toBe(
      "https://10.0.0.2:8787",
    );
    expect(defaultInstanceUrl("127.0.0.1", 8787)).toBe("http://127.0.0.1:8787");
    expect(defaultInstanceUrl("::1", 8787)).toBe("http://[::1]:8787");
    expect(defaultInstanceUrl("0.0.0.0", 8787)).toBeUndefined();
    expect(defaultInstanceUrl("::", 8787)).toBeUndefined();
  });

  test("{instanceId} in AUDITOR_INSTANCE_URL is the guest agent's instance id, and nothing else", () => {
    const template = loadConfig({
      AUDITOR_INSTANCE_URL: "https://{instanceId}-8787.gateway.example",
    }).instanceUrl!;
    expect(instanceUrlFor(template, "0a1b2c3d")).toBe("https://0a1b2c3d-8787.gateway.example");
    expect(instanceUrlFor("http://10.0.0.2:8787", null)).toBe("http://10.0.0.2:8787");
    expect(() => instanceUrlFor(template, null)).toThrow(
      "{instanceId} needs an instance id from the dstack guest agent, and this TEE gives none",
    );
    for (const hostile of ["a.evil.example/x", "a@b", "", "x".repeat(64)]) {
      expect(() => instanceUrlFor(template, hostile)).toThrow(ConfigError);
    }
  });

  test("an echoed value loses its userinfo and query", () => {
    expect(redacted("https://user:pw@host:1/path?key=v#f")).toBe("https://***@host:1/path?***");
    expect(redacted("user:pw@host:1")).toBe("***@host:1");
    expect(redacted("eighty")).toBe("eighty");
  });

  test("CORS origins with credentials, a query or a path are refused without echoing them", () => {
    expect(() => resolveCorsOrigins(["https://u:hunter2@app.example"], "dstack")).toThrow(
      "a value with credentials",
    );
    for (const origin of [
      "https://app.example?x=1",
      "https://app.example/path",
      "https://app.example#f",
    ])
      expect(() => resolveCorsOrigins([origin], "dstack")).toThrow("is not an origin");
    expect(() => resolveCorsOrigins(["https://u:hunter2@app.example"], "dstack")).not.toThrow(
      "hunter2",
    );
    expect(resolveCorsOrigins(["https://app.example:8443"], "dstack")).toEqual([
      "https://app.example:8443",
    ]);
  });

  test("help lists every flag and every environment variable", () => {
    const help = helpText("1.2.3");
    for (const option of Object.values(OPTIONS)) {
      if ("flag" in option) expect(help).toContain(option.flag);
      expect(help).toContain(option.env);
    }
    expect(help).toContain("--help");
    expect(help).toContain("--version");
  });
});
