// Writes deploy/app-compose.json for dstack from deploy/docker-compose.yml and an image
// reference by digest, and prints its compose hash (what RTMR3 will carry, and what
// `auditor verify --compose-hash` expects), computed by the dstack SDK's own getComposeHash.
//   bun scripts/app-compose.ts ghcr.io/<org>/auditor@sha256:<digest>   # the digest npm run image prints
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getComposeHash } from "@phala/dstack-sdk";

/** The encrypted environment variables the app accepts (names are measured, values are not). */
export const ALLOWED_ENVS = [
  "OPENROUTER_API_KEY",
  "ANTHROPIC_API_KEY",
  "AUDITOR_API_KEYS",
  "AUDITOR_OPERATOR_KEYS",
  "AUDITOR_STATE_URL",
];

export function appCompose(root: string, image: string) {
  if (!/^[^\s@]+@sha256:[0-9a-f]{64}$/.test(image))
    throw new Error(
      `the image must be referenced by digest (name@sha256:<64 hex>), got "${image}"`,
    );
  // The template's leading comments are for whoever edits it, not part of what is deployed.
  const compose = readFileSync(join(root, "deploy/docker-compose.yml"), "utf8").replace(
    /^(#.*\n)+/,
    "",
  );
  if (!compose.includes("image: AUDITOR_IMAGE"))
    throw new Error("deploy/docker-compose.yml has no `image: AUDITOR_IMAGE` placeholder");
  return {
    manifest_version: 2,
    name: "auditor",
    runner: "docker-compose",
    docker_compose_file: compose.replace("image: AUDITOR_IMAGE", `image: ${image}`),
    kms_enabled: true,
    gateway_enabled: true,
    public_logs: false,
    public_sysinfo: true,
    allowed_envs: ALLOWED_ENVS,
    no_instance_id: false,
    secure_time: true,
  };
}

if (import.meta.main) {
  const image = process.argv[2];
  if (!image) {
    console.error("usage: bun scripts/app-compose.ts <image>@sha256:<digest>");
    process.exit(2);
  }
  const manifest = appCompose(process.cwd(), image);
  const path = join(process.cwd(), "deploy/app-compose.json");
  writeFileSync(path, JSON.stringify(manifest, null, 2) + "\n");
  console.log(`wrote ${path}\ncompose hash ${getComposeHash(manifest)}`);
}
