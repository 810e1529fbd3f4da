// Prints the docker buildx command that builds the dstack image from the Dockerfile: the same
// files, owners, modes and config as `npm run image` (test/static/image.test.ts), reproducible
// between buildx runs, but buildx writes its own tar and config bytes, so its digest is not the
// one `npm run image` prints; deploy and verify against `npm run image`'s.
//   bun scripts/image-build-command.ts
const epoch = Bun.spawnSync(["git", "log", "-1", "--format=%ct"]).stdout.toString().trim() || "0";
console.log(
  [
    `docker buildx build --platform linux/amd64 --no-cache --pull \\`,
    `  --provenance=false --sbom=false \\`,
    `  --build-arg SOURCE_DATE_EPOCH=${epoch} \\`,
    `  --output type=oci,dest=auditor-image.oci.tar,rewrite-timestamp=true \\`,
    `  .`,
    `# image digest (what deploy/app-compose.json must reference):`,
    `tar -xOf auditor-image.oci.tar index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])'`,
  ].join("\n"),
);
