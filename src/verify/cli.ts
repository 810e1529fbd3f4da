// The `verify` subcommand: argument parsing, the DCAP verifier, and a report people (and
// agents, with --json) can read. Exit code 0 when nothing failed, 1 when a check failed, 2 for
// bad arguments.
import { getComposeHash } from "@phala/dstack-sdk";
import { z } from "zod";
import { sha256File } from "../self-digest.ts";
import {
  OsMeasurementsFileSchema,
  type OsMeasurementsFile,
} from "../../sdk/verify/os-measurements.ts";
import { parseKmsRoot } from "../../sdk/verify/key-provenance.ts";
import {
  verifyDeployment,
  type Check,
  type QuoteSignatureVerifier,
  type VerifyDeps,
} from "./checks.ts";
import { rebuildFromCheckout, type AppComposeManifest } from "./source-chain.ts";

export const VERIFY_HELP = `auditor verify <url> [options]

Checks a running Auditor link by link, silicon to source: the TDX quote's Intel signature chain
(DCAP), a fresh statement bound to it, MRTD and RTMR0-2 against the expected values of the OS
image vm_config names, the event log replayed into RTMR3 (app id, compose hash), each key
path's KMS signature chain, then compose hash -> image digest -> binary digest -> commit, and
the report bound to a fresh quote. Each line is PROVEN, STATED (the server's word only),
SKIPPED (with why) or FAIL. Exit 0 when nothing failed, 1 when something did, 2 for bad
arguments.

  --app <name>              report to check (default etherea)
  --os-measurements <file>  expected MRTD/RTMR0-2 per OS image ({ v: 1, images: [...] },
                            values as dstack-mr measure --json prints them)
  --kms-root <hex>          the KMS root you trust: secp256k1 public key or Ethereum address
  --source <checkout>       rebuild the binary and the image there (npm ci first) and compare
  --binary-sha256 <hex>     the digest of the binary you built from source (npm run build)
  --binary <path>           ... or the binary itself
  --compose-hash <hex>      the compose hash of the app-compose.json you deployed
  --app-compose <path>      ... or the app-compose.json itself (hashed as dstack does; names
                            the image --source compares)
  --app-id <hex>            the dstack app id you deployed to
  --pin <kid|key>           an identity key (or kid) you already trust; repeatable
  --offline                 do not fetch DCAP collateral (the signature check is skipped)
  --pccs-url <url>          PCCS for DCAP collateral (default: Phala's)
  --invoke <fn>             make one call and check its receipt and its egress log entries
  --input <json>            ... with this input (default {})
  --receipt <file>          check a receipt you captured (the auditor-receipt header value,
                            or its { receipt, signature } JSON)
  --json                    machine-readable output`;

const Hex64 = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits");
const ArgsSchema = z.object({
  url: z.url({ error: "a URL such as https://<app-id>-8787.<gateway>" }),
  app: z.string().min(1).default("etherea"),
  binarySha256: Hex64.optional(),
  binary: z.string().optional(),
  composeHash: Hex64.optional(),
  appCompose: z.string().optional(),
  appId: z
    .string()
    .regex(/^[0-9a-fA-F]+$/, "must be hex")
    .optional(),
  pin: z.array(z.string()).default([]),
  offline: z.boolean().default(false),
  pccsUrl: z.url().optional(),
  osMeasurements: z.string().optional(),
  kmsRoot: z
    .string()
    .refine((v) => {
      try {
        parseKmsRoot(v);
        return true;
      } catch {
        return false;
      }
    }, "must be a secp256k1 public key (33 or 65 bytes) or a 20-byte address, as hex")
    .optional(),
  source: z.string().optional(),
  invoke: z.string().min(1).optional(),
  input: z
    .string()
    .refine((v) => {
      try {
        JSON.parse(v);
        return true;
      } catch {
        return false;
      }
    }, "must be JSON")
    .optional(),
  receipt: z.string().optional(),
  json: z.boolean().default(false),
});

const FLAGS: Record<
  string,
  { key: keyof z.input<typeof ArgsSchema>; takesValue: boolean; repeat?: boolean }
> = {
  "--app": { key: "app", takesValue: true },
  "--binary-sha256": { key: "binarySha256", takesValue: true },
  "--binary": { key: "binary", takesValue: true },
  "--compose-hash": { key: "composeHash", takesValue: true },
  "--app-compose": { key: "appCompose", takesValue: true },
  "--app-id": { key: "appId", takesValue: true },
  "--pin": { key: "pin", takesValue: true, repeat: true },
  "--offline": { key: "offline", takesValue: false },
  "--pccs-url": { key: "pccsUrl", takesValue: true },
  "--os-measurements": { key: "osMeasurements", takesValue: true },
  "--kms-root": { key: "kmsRoot", takesValue: true },
  "--source": { key: "source", takesValue: true },
  "--invoke": { key: "invoke", takesValue: true },
  "--input": { key: "input", takesValue: true },
  "--receipt": { key: "receipt", takesValue: true },
  "--json": { key: "json", takesValue: false },
};

export function parseVerifyArgs(argv: string[]): z.output<typeof ArgsSchema> {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const flag = FLAGS[arg];
    if (!flag) {
      if (arg.startsWith("--") || raw.url !== undefined) throw new Error(`unknown argument ${arg}`);
      raw.url = arg;
      continue;
    }
    if (!flag.takesValue) {
      raw[flag.key] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    raw[flag.key] = flag.repeat ? [...((raw[flag.key] as string[]) ?? []), value] : value;
  }
  const parsed = ArgsSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      parsed.error.issues.map((i) => `${i.path.join(".") || "arguments"}: ${i.message}`).join("; "),
    );
  return parsed.data;
}

const dcapVerifier: QuoteSignatureVerifier = async (quote, pccsUrl) => {
  const dcap = await import("@phala/dcap-qvl");
  const collateral = await dcap.getCollateral(pccsUrl ?? dcap.PHALA_PCCS_URL, quote);
  return dcap.verify(quote, collateral, Math.floor(Date.now() / 1000));
};

export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map(
    (c) => `${c.status.toUpperCase().padEnd(7)}  ${c.name.padEnd(width)}  ${c.detail}`,
  );
  const count = (status: Check["status"]) => checks.filter((c) => c.status === status).length;
  const failed = count("fail");
  lines.push(
    "",
    failed > 0
      ? `NOT VERIFIED: ${failed} check(s) failed`
      : `no check failed: ${count("proven")} proven, ${count("stated")} stated (the server's word only), ${count("skipped")} skipped (not checked: see above)`,
  );
  return lines.join("\n");
}

async function readJsonFile(path: string, flag: string): Promise<unknown> {
  try {
    return JSON.parse(await Bun.file(path).text());
  } catch (e) {
    throw new Error(`${flag} ${path}: ${(e as Error).message}`);
  }
}

async function readOsMeasurements(path: string): Promise<OsMeasurementsFile> {
  const parsed = OsMeasurementsFileSchema.safeParse(await readJsonFile(path, "--os-measurements"));
  if (!parsed.success)
    throw new Error(
      `--os-measurements ${path}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}

const DEFAULT_DEPS: VerifyDeps = {
  verifyQuoteSignature: dcapVerifier,
  rebuild: rebuildFromCheckout,
};

export async function runVerify(
  argv: string[],
  out: (text: string) => void = console.log,
  err: (text: string) => void = console.error,
  deps: VerifyDeps = DEFAULT_DEPS,
): Promise<number> {
  if (argv.includes("--help")) {
    out(VERIFY_HELP);
    return 0;
  }
  let options;
  let args;
  try {
    args = parseVerifyArgs(argv);
    const appCompose = args.appCompose
      ? ((await readJsonFile(args.appCompose, "--app-compose")) as AppComposeManifest)
      : undefined;
    options = {
      url: args.url,
      app: args.app,
      binarySha256: args.binarySha256 ?? (args.binary ? await sha256File(args.binary) : undefined),
      composeHash: args.composeHash ?? (appCompose ? getComposeHash(appCompose) : undefined),
      appCompose,
      appId: args.appId,
      pins: args.pin,
      offline: args.offline,
      pccsUrl: args.pccsUrl,
      osMeasurements: args.osMeasurements
        ? await readOsMeasurements(args.osMeasurements)
        : undefined,
      kmsRoot: args.kmsRoot,
      source: args.source,
      invoke: args.invoke ? { fn: args.invoke, input: JSON.parse(args.input ?? "{}") } : undefined,
      receipt: args.receipt ? await Bun.file(args.receipt).text() : undefined,
    };
  } catch (e) {
    err(`auditor verify: ${(e as Error).message}\n\n${VERIFY_HELP}`);
    return 2;
  }
  const checks = await verifyDeployment(options, deps);
  out(
    args.json
      ? JSON.stringify(
          { url: args.url, verified: checks.every((c) => c.status !== "fail"), checks },
          null,
          2,
        )
      : formatChecks(checks),
  );
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}
