// The verifier's last links: compose hash → image digest → binary digest → commit. With
// `--source <checkout>` the image and the binary are rebuilt from that checkout by its own
// `npm run image` (byte-reproducible, scripts/image.ts), so the image the measured compose runs
// can be compared with one the user made: only then is the binary digest more than the
// server's word. Without a rebuild the binary digest is "stated" at best.
import type { AttestationStatement } from "../../sdk/wire/attestation.ts";
import { getComposeHash } from "@phala/dstack-sdk";
import { SOURCE_ROOTS } from "../source/tree-macro.ts";
import { short, type Add, type CheckStatus, type Evidence } from "./lines.ts";
import type { VerifyOptions } from "./checks.ts";

export type AppComposeManifest = Parameters<typeof getComposeHash>[0];

export interface Rebuilt {
  binarySha256: string;
  /** The OCI manifest digest, "sha256:<hex>". */
  imageDigest: string;
  /** The checkout's HEAD, "-dirty" appended when its tree differs from it. */
  commit: string;
}

export type Rebuilder = (checkout: string) => Promise<Rebuilt>;

/** Rebuilds with the checkout's own scripts; it needs `npm ci` to have been run there. */
export const rebuildFromCheckout: Rebuilder = async (checkout) => {
  const run = (cmd: string[]) => {
    const result = Bun.spawnSync(cmd, { cwd: checkout, stdout: "pipe", stderr: "pipe" });
    if (result.exitCode !== 0)
      throw new Error(
        `${cmd.join(" ")} failed in ${checkout}: ${result.stderr.toString().trim().split("\n").slice(-3).join(" ")}`,
      );
    return result.stdout.toString().trim();
  };
  const head = run(["git", "rev-parse", "HEAD"]);
  // The same rule the build uses for the commit it embeds (src/source/tree-macro.ts).
  const dirty =
    run(["git", "status", "--porcelain", "--untracked-files=normal", "--", ...SOURCE_ROOTS]) !== "";
  const out = run(["npm", "run", "--silent", "image", "--", "--json"]).split("\n").at(-1) ?? "";
  const built = JSON.parse(out) as { binarySha256?: unknown; manifestDigest?: unknown };
  if (typeof built.binarySha256 !== "string" || typeof built.manifestDigest !== "string") {
    throw new Error(`npm run image in ${checkout} printed no digests`);
  }
  return {
    binarySha256: built.binarySha256,
    imageDigest: built.manifestDigest,
    commit: head + (dirty ? "-dirty" : ""),
  };
};

/** The image references by digest in a compose file (what its hash pins). */
export function composeImages(manifest: AppComposeManifest): string[] {
  const text = String((manifest as { docker_compose_file?: unknown }).docker_compose_file ?? "");
  return [...text.matchAll(/^\s*image:\s*["']?(\S+?@sha256:[0-9a-f]{64})["']?\s*$/gm)].map(
    (m) => m[1]!,
  );
}

/** The commit the statement names (DESIGN "Provenance"), when the build knew it. */
function statementCommit(statement: AttestationStatement): string | undefined {
  return statement.source.commit ?? undefined;
}

export async function sourceChainLines(
  ev: Evidence,
  options: VerifyOptions,
  rebuild: Rebuilder,
  add: Add,
) {
  let rebuilt: Rebuilt | undefined;
  let rebuildError: string | undefined;
  if (options.source) {
    try {
      rebuilt = await rebuild(options.source);
    } catch (err) {
      rebuildError = (err as Error).message;
    }
  }
  const imageProven = imageLine(ev, options, rebuilt, rebuildError, add);
  binaryLine(ev, options, rebuilt, imageProven, add);
  commitLine(ev, options, rebuilt, rebuildError, add);
}

function imageLine(
  ev: Evidence,
  options: VerifyOptions,
  rebuilt: Rebuilt | undefined,
  rebuildError: string | undefined,
  add: Add,
): boolean {
  const name = "image digest (rebuilt)";
  if (!options.source)
    return skip(
      add,
      name,
      "pass --source <checkout> and --app-compose to rebuild the image and compare it with the one the measured compose runs",
    );
  if (!rebuilt) return fail(add, name, `rebuilding from ${options.source} failed: ${rebuildError}`);
  if (!options.appCompose)
    return skip(
      add,
      name,
      `this checkout builds ${rebuilt.imageDigest}; pass --app-compose (the deployed app-compose.json) to compare with the image it runs`,
    );
  const hash = getComposeHash(options.appCompose);
  const measured = ev.rtmr3?.payloads.get("compose-hash");
  if (measured !== hash)
    return fail(
      add,
      name,
      `the app-compose.json given hashes to ${short(hash)}, but RTMR3 measured ${measured ? short(measured) : "none"}: it is not the deployed one`,
    );
  const images = composeImages(options.appCompose);
  if (images.length !== 1)
    return fail(
      add,
      name,
      `the measured compose must run exactly one image by digest (name@sha256:…), it names ${images.length}`,
    );
  const digest = images[0]!.slice(images[0]!.lastIndexOf("@") + 1);
  if (digest !== rebuilt.imageDigest)
    return fail(
      add,
      name,
      `the measured compose runs ${digest}, the checkout builds ${rebuilt.imageDigest}`,
    );
  add(name, "proven", `the measured compose runs ${images[0]}, the image this checkout builds`);
  return true;
}

function binaryLine(
  ev: Evidence,
  options: VerifyOptions,
  rebuilt: Rebuilt | undefined,
  imageProven: boolean,
  add: Add,
) {
  const name = "binary digest";
  const stated = ev.statement.binarySha256;
  if (stated === null)
    return add(name, "fail", "the server runs from source: no binary digest to check");
  const theirs: [string, string][] = [];
  if (options.binarySha256) theirs.push(["yours", options.binarySha256.toLowerCase()]);
  if (rebuilt) theirs.push(["the rebuilt one", rebuilt.binarySha256]);
  if (theirs.length === 0)
    return add(
      name,
      "skipped",
      `the server states ${stated}; pass --binary or --source to compare`,
    );
  const differing = theirs.find(([, digest]) => digest !== stated);
  if (differing)
    return add(name, "fail", `the server states ${stated}, ${differing[0]} is ${differing[1]}`);
  const status: CheckStatus = imageProven ? "proven" : "stated";
  add(
    name,
    status,
    imageProven
      ? `${stated} is the binary in the image the measured compose runs (rebuilt from ${options.source})`
      : `${stated} is the one you expect, as the measured code states it; --source and --app-compose prove it through the image`,
  );
}

function commitLine(
  ev: Evidence,
  options: VerifyOptions,
  rebuilt: Rebuilt | undefined,
  rebuildError: string | undefined,
  add: Add,
) {
  const name = "source commit";
  if (!options.source)
    return add(name, "skipped", "pass --source <checkout> to compare the commit");
  if (!rebuilt)
    return add(name, "fail", `rebuilding from ${options.source} failed: ${rebuildError}`);
  const named = statementCommit(ev.statement);
  if (named === undefined)
    return add(
      name,
      "skipped",
      `the statement names no commit yet; the checkout is at ${rebuilt.commit}`,
    );
  if (named !== rebuilt.commit)
    return add(name, "fail", `the statement names ${named}, the checkout is at ${rebuilt.commit}`);
  add(name, ev.bound ? "proven" : "stated", `the statement names ${named}, the checkout's commit`);
}

function skip(add: Add, name: string, detail: string): false {
  add(name, "skipped", detail);
  return false;
}

function fail(add: Add, name: string, detail: string): false {
  add(name, "fail", detail);
  return false;
}
