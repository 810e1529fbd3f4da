// Expected OS measurements: an unknown image or VM shape never matches, and a hostile file or
// vm_config is refused with the field named.
import { describe, expect, test } from "bun:test";
import {
  expectedMeasurements,
  OsMeasurementsFileSchema,
  parseVmConfig,
} from "../../sdk/verify/os-measurements.ts";

const entry = {
  os_image_hash: "AA".repeat(32),
  vm: { cpu_count: 2 },
  mrtd: "11".repeat(48),
  rtmr0: "22".repeat(48),
  rtmr1: "33".repeat(48),
  rtmr2: "44".repeat(48),
};
const file = OsMeasurementsFileSchema.parse({ v: 1, images: [entry] });

describe("OS measurements", () => {
  test("the entry for the image and VM shape, case-insensitively", () => {
    const found = expectedMeasurements(file, { os_image_hash: "aa".repeat(32), cpu_count: 2 });
    expect(found).toMatchObject({ ok: true, entry: { mrtd: "11".repeat(48) } });
  });

  test("an unknown image, or a known image in another VM shape, is no match", () => {
    expect(expectedMeasurements(file, { os_image_hash: "bb".repeat(32), cpu_count: 2 })).toEqual({
      ok: false,
      reason: `unknown OS image ${"bb".repeat(32)}: not in the expected measurements`,
    });
    const other = expectedMeasurements(file, { os_image_hash: "aa".repeat(32), cpu_count: 4 });
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.reason).toContain('known only for VM shapes {"cpu_count":2}');
    expect(expectedMeasurements(file, { os_image_hash: "aa".repeat(32), cpu_count: "2" }).ok).toBe(
      false,
    );
  });

  test("a malformed file is refused naming the field", () => {
    for (const [bad, path] of [
      [{ v: 2, images: [] }, "v"],
      [{ v: 1, images: [{ ...entry, rtmr1: "33".repeat(47) }] }, "images.0.rtmr1"],
      [{ v: 1, images: [{ ...entry, os_image_hash: "x" }] }, "images.0.os_image_hash"],
      [{ v: 1, images: [{ ...entry, extra: 1 }] }, "images.0"],
    ] as const) {
      const parsed = OsMeasurementsFileSchema.safeParse(bad);
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues.map((i) => i.path.join("."))).toContain(path);
    }
  });

  test("a vm_config without a well-formed os_image_hash, or not JSON, is refused", () => {
    expect(() => parseVmConfig('{"cpu_count":2}')).toThrow(/os_image_hash/);
    expect(() => parseVmConfig('{"os_image_hash":"zz"}')).toThrow(/os_image_hash/);
    expect(() => parseVmConfig("not json")).toThrow();
    expect(
      parseVmConfig(JSON.stringify({ os_image_hash: "aa".repeat(32), cpu_count: 2 })).cpu_count,
    ).toBe(2);
  });
});
