// The verifier's platform lines: the OS image (MRTD, RTMR0–2 against the expected values for
// the image vm_config names) and the KMS (each key path's signature chain up to the KMS root).
import {
  ethereumAddress,
  parseKmsRoot,
  recoverChain,
  rootMatches,
} from "../../sdk/verify/key-provenance.ts";
import {
  expectedMeasurements,
  MEASURED_REGISTERS,
  parseVmConfig,
  type OsMeasurementsFile,
} from "../../sdk/verify/os-measurements.ts";
import { fromHex, toHex } from "../../sdk/crypto/encoding.ts";
import { KEY_PATHS } from "../tee/keys.ts";
import { short, type Add, type Evidence } from "./lines.ts";

const NO_TABLE =
  "dstack publishes no table of these values: compute them with dstack-mr for the image and " +
  "VM shape, and pass --os-measurements FILE";

export function osMeasurementLines(ev: Evidence, file: OsMeasurementsFile | undefined, add: Add) {
  const names = MEASURED_REGISTERS.map((r) => r.toUpperCase());
  const all = (status: "skipped" | "fail", detail: string) => {
    for (const n of names) add(n, status, detail);
  };
  const { quote, attestation } = ev;
  if (!quote) return all("skipped", "no readable quote");
  const actual = {
    mrtd: quote.mrTd,
    rtmr0: quote.rtmr[0],
    rtmr1: quote.rtmr[1],
    rtmr2: quote.rtmr[2],
  };
  if (attestation.vmConfig === null)
    return all("fail", "the server sent no vm_config: the OS image is not named");
  let vmConfig;
  try {
    vmConfig = parseVmConfig(attestation.vmConfig);
  } catch (err) {
    return all("fail", `vm_config cannot be read: ${(err as Error).message}`);
  }
  const image = vmConfig.os_image_hash.toLowerCase();
  if (!file) {
    MEASURED_REGISTERS.forEach((r, i) => {
      add(
        names[i]!,
        "skipped",
        `the quote has ${short(actual[r])} for OS image ${short(image)}; ${NO_TABLE}`,
      );
    });
    return;
  }
  const expected = expectedMeasurements(file, vmConfig);
  if (!expected.ok) return all("fail", expected.reason);
  const source = expected.entry.description ? ` (${expected.entry.description})` : "";
  MEASURED_REGISTERS.forEach((r, i) => {
    if (actual[r] === expected.entry[r])
      add(
        names[i]!,
        "proven",
        `${short(actual[r])} is the expected value for OS image ${short(image)}${source}`,
      );
    else
      add(
        names[i]!,
        "fail",
        `the quote has ${short(actual[r])}, OS image ${short(image)} expects ${short(expected.entry[r])}`,
      );
  });
}

export function keyProvenanceLines(ev: Evidence, kmsRoot: string | undefined, add: Add) {
  const name = "key provenance (KMS root)";
  const provenance = ev.attestation.keyProvenance;
  if (provenance === null) {
    const why = `not attested: the ${ev.statement.tee.provider} provider's keys come from no KMS`;
    return add(name, kmsRoot ? "fail" : "skipped", why);
  }
  const appId = ev.rtmr3?.payloads.get("app-id");
  if (!appId) return add(name, "fail", "no measured app id (RTMR3) to check the chains against");
  const roots = new Set<string>();
  for (const path of Object.values(KEY_PATHS)) {
    const entry = provenance[path];
    if (!entry) return add(name, "fail", `no signature chain for key path ${path}`);
    const chain = recoverChain(entry, appId);
    if (!chain.ok) return add(name, "fail", `${path}: ${chain.reason}`);
    roots.add(chain.kmsRoot);
  }
  if (roots.size !== 1)
    return add(
      name,
      "fail",
      `the key paths' chains end in different roots: ${[...roots].join(", ")}`,
    );
  const root = [...roots][0]!;
  const described = `KMS root ${root} (address 0x${toHex(ethereumAddress(fromHex(root)))})`;
  const scope = `the key material of ${Object.keys(KEY_PATHS).length} key paths was issued for the measured app id ${appId}`;
  if (!kmsRoot)
    return add(
      name,
      "skipped",
      `the chains end in ${described}; pass --kms-root to require the root you trust`,
    );
  if (!rootMatches(root, parseKmsRoot(kmsRoot)))
    return add(
      name,
      "fail",
      `the chains end in ${described}, not in the root you trust (${kmsRoot})`,
    );
  add(
    name,
    "proven",
    `${scope} by the ${described} you trust; that the P-256 keys are derived from it is stated by the measured code`,
  );
}
