import { describe, expect, test } from "bun:test";
import { CorsConfigError, resolveCorsOrigins } from "../../src/http/cors-origins.ts";

describe("CORS origins", () => {
  test("default: any origin with the dev TEE, none with dstack", () => {
    expect(resolveCorsOrigins(undefined, "dev")).toEqual(["*"]);
    expect(resolveCorsOrigins(undefined, "dstack")).toEqual([]);
  });

  test('"*" is refused with dstack; listed origins are kept', () => {
    expect(() => resolveCorsOrigins(["*"], "dstack")).toThrow(CorsConfigError);
    expect(resolveCorsOrigins(["https://vj.example", "http://localhost:5173"], "dstack")).toEqual([
      "https://vj.example",
      "http://localhost:5173",
    ]);
  });

  test("a value that is not an origin names the variable", () => {
    expect(() => resolveCorsOrigins(["https://vj.example/app"], "dev")).toThrow(
      /AUDITOR_CORS_ORIGINS: "https:\/\/vj.example\/app"/,
    );
    expect(() => resolveCorsOrigins(["vj.example"], "dev")).toThrow("AUDITOR_CORS_ORIGINS");
  });
});
