// Prints the exact command that builds the dstack image as a byte-reproducible OCI archive:
// same commit + same command = same image digest, on any machine with docker buildx ≥ 0.13.
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
