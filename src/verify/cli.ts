// The `verify` subcommand: argument parsing, the DCAP verifier, and a report people (and
// agents, with --json) can read. Exit code 0 when nothing failed, 1 when a check failed, 2 for
// bad arguments.
import { getComposeHash } from "@phala/dstack-sdk";
import { z } from "zod";
import { sha256File } from "../self-digest.ts";
import { verifyDeployment, type Check, type QuoteSignatureVerifier } from "./checks.ts";

export const VERIFY_HELP = `auditor verify <url> [options]

Checks a running Auditor: a fresh statement bound to its TDX quote, the event log replayed into
RTMR3 (app id and compose hash), the binary digest against the one you built, the report bound
to a fresh quote, and the quote's Intel signature chain (DCAP).

  --app <name>              report to check (default etherea)
  --binary-sha256 <hex>     the digest of the binary you built from source (npm run build)
  --binary <path>           ... or the binary itself
  --compose-hash <hex>      the compose hash of the app-compose.json you deployed
  --app-compose <path>      ... or the app-compose.json itself (hashed as dstack does)
  --app-id <hex>            the dstack app id you deployed to
  --pin <kid|key>           an identity key (or kid) you already trust; repeatable
  --offline                 do not fetch DCAP collateral (the signature check is skipped)
  --pccs-url <url>          PCCS for DCAP collateral (default: Phala's)
  --json                    machine-readable output`;

const Hex64 = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits");
const ArgsSchema = z.object({
  url: z.url({ error: "a URL such as https://<app-id>-8787.<gateway>" }),
  app: z.string().min(1).default("etherea"),
  binarySha256: Hex64.optional(),
  binary: z.string().optional(),
  composeHash: Hex64.optional(),
  appCompose: z.string().optional(),
  appId: z.string().regex(/^[0-9a-fA-F]+$/, "must be hex").optional(),
  pin: z.array(z.string()).default([]),
  offline: z.boolean().default(false),
  pccsUrl: z.url().optional(),
  json: z.boolean().default(false),
});

const FLAGS: Record<string, { key: keyof z.input<typeof ArgsSchema>; takesValue: boolean; repeat?: boolean }> = {
  "--app": { key: "app", takesValue: true },
  "--binary-sha256": { key: "binarySha256", takesValue: true },
  "--binary": { key: "binary", takesValue: true },
  "--compose-hash": { key: "composeHash", takesValue: true },
  "--app-compose": { key: "appCompose", takesValue: true },
  "--app-id": { key: "appId", takesValue: true },
  "--pin": { key: "pin", takesValue: true, repeat: true },
  "--offline": { key: "offline", takesValue: false },
  "--pccs-url": { key: "pccsUrl", takesValue: true },
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
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join(".") || "arguments"}: ${i.message}`).join("; "));
  return parsed.data;
}

const dcapVerifier: QuoteSignatureVerifier = async (quote, pccsUrl) => {
  const dcap = await import("@phala/dcap-qvl");
  const collateral = await dcap.getCollateral(pccsUrl ?? dcap.PHALA_PCCS_URL, quote);
  return dcap.verify(quote, collateral, Math.floor(Date.now() / 1000));
};

export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`);
  const failed = checks.filter((c) => c.status === "fail").length;
  const skipped = checks.filter((c) => c.status === "skip").length;
  lines.push("", failed > 0 ? `NOT VERIFIED: ${failed} check(s) failed` : `verified${skipped ? ` (${skipped} check(s) skipped: see above)` : ""}`);
  return lines.join("\n");
}

export async function runVerify(argv: string[], out: (text: string) => void = console.log, err: (text: string) => void = console.error): Promise<number> {
  if (argv.includes("--help")) {
    out(VERIFY_HELP);
    return 0;
  }
  let args;
  try {
    args = parseVerifyArgs(argv);
  } catch (e) {
    err(`auditor verify: ${(e as Error).message}\n\n${VERIFY_HELP}`);
    return 2;
  }
  const checks = await verifyDeployment(
    {
      url: args.url,
      app: args.app,
      binarySha256: args.binarySha256 ?? (args.binary ? await sha256File(args.binary) : undefined),
      composeHash: args.composeHash ?? (args.appCompose ? getComposeHash(JSON.parse(await Bun.file(args.appCompose).text())) : undefined),
      appId: args.appId,
      pins: args.pin,
      offline: args.offline,
      pccsUrl: args.pccsUrl,
    },
    dcapVerifier,
  );
  out(args.json ? JSON.stringify({ url: args.url, verified: checks.every((c) => c.status !== "fail"), checks }, null, 2) : formatChecks(checks));
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}
