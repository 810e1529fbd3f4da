// npm run image: the dstack image as a byte-reproducible OCI image, without a Docker daemon
// (DESIGN "The whole chain": Image). One uncompressed layer holds dist/auditor and the few
// runtime files it needs: `ldd dist/auditor` names only glibc (libc, libm, libdl, libpthread
// and the loader), taken from Debian bookworm's libc6 at a pinned version whose .deb is
// checked against its sha256 before use; plus a passwd/group entry for uid 10001, an empty
// /data owned by it, and /tmp. Ordering, owners, modes and times are fixed (every mtime is
// SOURCE_DATE_EPOCH, from the commit), and the tar writer is our own (scripts/image-tar.ts),
// so the same commit gives the same manifest digest on any linux/amd64 machine.
//   npm run image            # dist/image/ (OCI layout), dist/auditor-image.oci.tar; prints digest
//   npm run image -- --json  # the same, digests as one JSON line (what `auditor verify --source` reads)
//   bun scripts/image.ts --rootfs DIR   # the layer's files as a directory (the Dockerfile's build stage)
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { buildBinary, BINARY_PATH } from "./build.ts";
import { readTar, writeTar, type TarEntry } from "./image-tar.ts";

/** libc6 from Debian bookworm: version and sha256 as apt's signed Packages index lists them. */
export const LIBC6 = {
  package: "libc6",
  version: "2.36-9+deb12u14",
  pool: "pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb",
  sha256: "ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf",
} as const;

/** The shared objects `ldd dist/auditor` lists, as libc6 ships them under lib/x86_64-linux-gnu. */
export const LIBC_FILES = [
  "ld-linux-x86-64.so.2",
  "libc.so.6",
  "libdl.so.2",
  "libm.so.6",
  "libpthread.so.0",
];

export const APP_UID = 10001;
const LIB_DIR = "usr/lib/x86_64-linux-gnu";

/** The image config both this builder and the Dockerfile declare (compared by a test). */
export const IMAGE_CONFIG = {
  User: `${APP_UID}:${APP_UID}`,
  Env: [
    "PATH=/usr/local/bin:/usr/bin:/bin",
    // dstack only: a missing guest agent socket must stop the container, never fall back to dev keys.
    "AUDITOR_TEE=dstack",
    "HOST=0.0.0.0",
    "PORT=8787",
    "AUDITOR_DATA_DIR=/data",
  ],
  Entrypoint: ["/usr/local/bin/auditor"],
  ExposedPorts: { "8787/tcp": {} },
  Volumes: { "/data": {} },
  WorkingDir: "/",
};

export interface ImageResult {
  binarySha256: string;
  /** sha256:<hex> of the OCI image manifest: what deploy/app-compose.json references. */
  manifestDigest: string;
  layerDigest: string;
  layout: string;
  archive: string;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const dir = (path: string, mode = 0o755, uid = 0): TarEntry => ({
  type: "dir",
  path,
  mode,
  uid,
  gid: uid,
});
const file = (path: string, data: Uint8Array | string, mode = 0o644): TarEntry => ({
  type: "file",
  path,
  mode,
  uid: 0,
  gid: 0,
  data: typeof data === "string" ? new TextEncoder().encode(data) : data,
});
const link = (path: string, target: string): TarEntry => ({
  type: "symlink",
  path,
  mode: 0o777,
  uid: 0,
  gid: 0,
  target,
});

/** Every file of the image's one layer (paths relative to /). */
export function imageEntries(binary: Uint8Array, libc: Map<string, Uint8Array>): TarEntry[] {
  const need = (name: string) => {
    const data = libc.get(name);
    if (!data) throw new Error(`${LIBC6.package} ${LIBC6.version} has no ${name}`);
    return data;
  };
  return [
    dir("data", 0o755, APP_UID),
    dir("etc"),
    file("etc/group", `root:x:0:\nauditor:x:${APP_UID}:\n`),
    file(
      "etc/passwd",
      `root:x:0:0:root:/root:/usr/sbin/nologin\nauditor:x:${APP_UID}:${APP_UID}:auditor:/nonexistent:/usr/sbin/nologin\n`,
    ),
    link("lib", "usr/lib"),
    link("lib64", "usr/lib64"),
    dir("tmp", 0o1777),
    dir("usr"),
    dir("usr/lib"),
    dir(LIB_DIR),
    ...LIBC_FILES.map((name) => file(`${LIB_DIR}/${name}`, need(name), 0o755)),
    dir("usr/lib64"),
    link("usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
    dir("usr/local"),
    dir("usr/local/bin"),
    file("usr/local/bin/auditor", binary, 0o555),
    dir("usr/share"),
    dir("usr/share/doc"),
    dir("usr/share/doc/libc6"),
    file("usr/share/doc/libc6/copyright", need("copyright")),
  ];
}

/** The Debian mirror apt uses here (deb822 or one-line sources), else deb.debian.org. */
export function debianMirror(): string {
  const files = [
    ...(existsSync("/etc/apt/sources.list.d")
      ? readdirSync("/etc/apt/sources.list.d").map((f) => join("/etc/apt/sources.list.d", f))
      : []),
    "/etc/apt/sources.list",
  ].filter((f) => existsSync(f) && /\.(sources|list)$/.test(f));
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/^URIs:\s*(\S+)/gm))
      if (!/security/.test(m[1]!)) return m[1]!.replace(/\/+$/, "");
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/gm))
      return m[1]!.replace(/\/+$/, "");
  }
  return "http://deb.debian.org/debian";
}

/** The pinned .deb, from a sha256-keyed cache or the mirror, refused unless its sha256 matches. */
export async function fetchLibc6(): Promise<Uint8Array> {
  const cache = join(
    process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"),
    "auditor-image",
    `${LIBC6.sha256}.deb`,
  );
  if (existsSync(cache)) {
    const cached = new Uint8Array(readFileSync(cache));
    if (sha256(cached) === LIBC6.sha256) return cached;
  }
  const url = `${debianMirror()}/${LIBC6.pool}`;
  const res = await fetch(url);
  if (!res.ok) {
    throw new Error(
      `GET ${url}: HTTP ${res.status} (a newer point release may have replaced ${LIBC6.version}: ` +
        "pin the version and sha256 `apt-cache show libc6` lists in scripts/image.ts)",
    );
  }
  const deb = new Uint8Array(await res.arrayBuffer());
  const digest = sha256(deb);
  if (digest !== LIBC6.sha256)
    throw new Error(`${url} has sha256 ${digest}, pinned ${LIBC6.sha256}: refusing it`);
  mkdirSync(dirname(cache), { recursive: true });
  writeFileSync(cache, deb);
  return deb;
}

/** The files we take from libc6's data tar (via dpkg-deb, which reads every compression). */
export function libcFiles(deb: Uint8Array, scratch: string): Map<string, Uint8Array> {
  mkdirSync(scratch, { recursive: true });
  const path = join(scratch, "libc6.deb");
  writeFileSync(path, deb);
  const result = Bun.spawnSync(["dpkg-deb", "--fsys-tarfile", path], {
    stdout: "pipe",
    stderr: "pipe",
    maxBuffer: 64 << 20,
  });
  if (result.exitCode !== 0)
    throw new Error(`dpkg-deb --fsys-tarfile failed: ${result.stderr.toString()}`);
  const wanted = new Map<string, string>([
    ...LIBC_FILES.map((n): [string, string] => [`lib/x86_64-linux-gnu/${n}`, n]),
    ["usr/share/doc/libc6/copyright", "copyright"],
  ]);
  const out = new Map<string, Uint8Array>();
  for (const entry of readTar(new Uint8Array(result.stdout))) {
    const name = wanted.get(entry.path);
    if (!name) continue;
    if (entry.type !== "file")
      throw new Error(`libc6: ${entry.path} is a ${entry.type}, expected a regular file`);
    out.set(name, entry.data.slice());
  }
  return out;
}

/** SOURCE_DATE_EPOCH if set, else the commit time of HEAD. */
export function sourceDateEpoch(root: string): number {
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined) {
    if (!/^\d+$/.test(fromEnv))
      throw new Error(`SOURCE_DATE_EPOCH must be seconds since 1970, got "${fromEnv}"`);
    return Number(fromEnv);
  }
  const git = Bun.spawnSync(["git", "log", "-1", "--format=%ct"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const text = git.stdout.toString().trim();
  if (git.exitCode !== 0 || !/^\d+$/.test(text))
    throw new Error("no commit to take the image time from: set SOURCE_DATE_EPOCH");
  return Number(text);
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** Builds the binary and writes dist/image (OCI layout) and dist/auditor-image.oci.tar. */
export async function buildImage(root: string): Promise<ImageResult> {
  const epoch = sourceDateEpoch(root);
  const { path, sha256: binarySha256 } = await buildBinary(root);
  const entries = imageEntries(
    new Uint8Array(readFileSync(path)),
    libcFiles(await fetchLibc6(), join(root, "dist/.image-scratch")),
  );
  rmSync(join(root, "dist/.image-scratch"), { recursive: true, force: true });

  const layer = writeTar(entries, epoch);
  const layerDigest = `sha256:${sha256(layer)}`;
  const config = json({
    created: new Date(epoch * 1000).toISOString().replace(".000Z", "Z"),
    architecture: "amd64",
    os: "linux",
    config: IMAGE_CONFIG,
    rootfs: { type: "layers", diff_ids: [layerDigest] }, // uncompressed: diff id = layer digest
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: `sha256:${sha256(config)}`,
      size: config.length,
    },
    layers: [
      {
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        digest: layerDigest,
        size: layer.length,
      },
    ],
  });
  const manifestDigest = `sha256:${sha256(manifest)}`;
  const version = (
    JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }
  ).version;
  const index = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: manifestDigest,
        size: manifest.length,
        annotations: { "org.opencontainers.image.ref.name": version },
      },
    ],
  });
  const layoutFiles = new Map<string, Uint8Array>([
    ["oci-layout", json({ imageLayoutVersion: "1.0.0" })],
    ["index.json", index],
    ...[config, manifest, layer].map(
      (blob) => [`blobs/sha256/${sha256(blob)}`, blob] as [string, Uint8Array],
    ),
  ]);

  const layout = join(root, "dist/image");
  rmSync(layout, { recursive: true, force: true });
  for (const [name, data] of layoutFiles) {
    mkdirSync(dirname(join(layout, name)), { recursive: true });
    writeFileSync(join(layout, name), data);
  }
  const archive = join(root, "dist/auditor-image.oci.tar");
  writeFileSync(
    archive,
    writeTar(
      [
        dir("blobs"),
        dir("blobs/sha256"),
        ...[...layoutFiles].map(([name, data]) => file(name, data)),
      ],
      epoch,
    ),
  );
  return { binarySha256, manifestDigest, layerDigest, layout, archive };
}

/** The layer's files as a directory tree, for the Dockerfile (which sets owners and times). */
export async function writeRootfs(binary: Uint8Array, out: string, libc: Map<string, Uint8Array>) {
  const entries = imageEntries(binary, libc);
  for (const entry of [...entries].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const target = join(out, entry.path);
    if (entry.type === "dir") mkdirSync(target, { recursive: true });
    else if (entry.type === "symlink") symlinkSync(entry.target, target);
    else writeFileSync(target, entry.data);
    if (entry.type !== "symlink") chmodSync(target, entry.mode);
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const rootfsAt = args.indexOf("--rootfs");
  if (rootfsAt !== -1) {
    const out = args[rootfsAt + 1];
    if (!out) throw new Error("--rootfs needs a directory");
    const scratch = join(out, "..", ".image-scratch");
    const libc = libcFiles(await fetchLibc6(), scratch);
    rmSync(scratch, { recursive: true, force: true });
    await writeRootfs(new Uint8Array(readFileSync(join(process.cwd(), BINARY_PATH))), out, libc);
    console.log(`wrote the image's files to ${out}`);
  } else {
    const result = await buildImage(process.cwd());
    if (args.includes("--json")) console.log(JSON.stringify(result));
    else {
      console.log(
        `binary   sha256 ${result.binarySha256}\nlayout   ${result.layout}\narchive  ${result.archive}`,
      );
      console.log(
        `image    ${result.manifestDigest}\n(next: push it, then bun scripts/app-compose.ts <name>@${result.manifestDigest})`,
      );
    }
  }
}
