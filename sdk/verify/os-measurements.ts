// Expected MRTD and RTMR0–2 of dstack OS images, and the comparison with a quote (DESIGN "The
// whole chain"). These registers measure the firmware (MRTD), the virtual hardware and ACPI
// tables (RTMR0), the kernel (RTMR1) and the command line and initrd (RTMR2). dstack computes
// them with dstack-mr from an image's files *and* the VM shape (`dstack-mr measure --json
// --cpu N --memory M metadata.json` prints { mrtd, rtmr0, rtmr1, rtmr2 }): RTMR0 changes with
// the CPU count and memory size, so an entry may name the vm_config fields it was computed for.
// dstack publishes OS image tarballs (release guest-os-v*, download.dstack.org/os-images/
// mr_<os_image_hash>.tar.gz) but no table of these values, so there is no pinned table here:
// the verifier brings a file it made or trusts.
//
// `vm_config` is the operator's word (it is not in the quote): it only chooses which expected
// values to compare with, and a lie about it makes the comparison fail, never pass.
import { z } from "zod/mini";

/** Hex of `bytes` bytes, either case, read as lowercase. */
const lowerHex = (bytes: number) =>
  z.pipe(
    z
      .string()
      .check(z.regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `must be ${bytes} bytes as hex`)),
    z.transform((s: string) => s.toLowerCase()),
  );
const Hex48 = lowerHex(48);

export const OsImageMeasurementSchema = z.strictObject({
  os_image_hash: lowerHex(32),
  /** Where the values came from (release, dstack-mr version and flags): for people. */
  description: z.optional(z.string()),
  /** vm_config fields these values hold for (e.g. cpu_count, memory_size); all must match. */
  vm: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
  mrtd: Hex48,
  rtmr0: Hex48,
  rtmr1: Hex48,
  rtmr2: Hex48,
});
export type OsImageMeasurement = z.infer<typeof OsImageMeasurementSchema>;

export const OsMeasurementsFileSchema = z.strictObject({
  v: z.literal(1),
  images: z.array(OsImageMeasurementSchema),
});
export type OsMeasurementsFile = z.infer<typeof OsMeasurementsFileSchema>;

export const MEASURED_REGISTERS = ["mrtd", "rtmr0", "rtmr1", "rtmr2"] as const;
export type MeasuredRegister = (typeof MEASURED_REGISTERS)[number];

/** The vm_config fields a verifier relies on; the rest is kept as the agent sent it. */
export const VmConfigSchema = z.looseObject({
  os_image_hash: z.string().check(z.regex(/^[0-9a-fA-F]{64}$/, "must be 32 bytes as hex")),
});

export function parseVmConfig(
  text: string,
): z.infer<typeof VmConfigSchema> & Record<string, unknown> {
  const parsed = VmConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new Error(
      `vm_config: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}

export type ExpectedLookup =
  | { ok: true; entry: OsImageMeasurement }
  | { ok: false; reason: string };

/** The entry for this image and VM shape; an image not in the file is unknown, never a match. */
export function expectedMeasurements(
  file: OsMeasurementsFile,
  vmConfig: Record<string, unknown>,
): ExpectedLookup {
  const hash = String(vmConfig.os_image_hash).toLowerCase();
  const forImage = file.images.filter((e) => e.os_image_hash === hash);
  if (forImage.length === 0)
    return { ok: false, reason: `unknown OS image ${hash}: not in the expected measurements` };
  const fits = forImage.filter((e) =>
    Object.entries(e.vm ?? {}).every(([k, v]) => vmConfig[k] === v),
  );
  if (fits.length === 0) {
    const shapes = forImage.map((e) => JSON.stringify(e.vm ?? {})).join(", ");
    return {
      ok: false,
      reason: `OS image ${hash} is known only for VM shapes ${shapes}, not this vm_config`,
    };
  }
  return { ok: true, entry: fits[0]! };
}
