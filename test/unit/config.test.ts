import { describe, expect, test } from "bun:test";
import { ConfigError, helpText, loadConfig, OPTIONS } from "../../src/config.ts";

describe("config", () => {
  test("defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8787, host: "127.0.0.1", dataDir: "./data", logLevel: "info", shutdownGraceMs: 10_000 });
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
    expect(() => loadConfig({ AUDITOR_SHUTDOWN_GRACE_MS: "0" })).toThrow(/AUDITOR_SHUTDOWN_GRACE_MS/);
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
