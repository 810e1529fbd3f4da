// The sha256 of the running executable, which /attestation reports as binarySha256. Only a
// `bun build --compile` binary has one: running from source there is no single measured file.

/** Bun compiled executables load their entry point from the embedded /$bunfs filesystem. */
export function isCompiledBinary(): boolean {
  return Bun.main.startsWith("/$bunfs/");
}

export async function selfDigest(): Promise<string | null> {
  if (!isCompiledBinary()) return null;
  return sha256File(process.execPath);
}

export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  const reader = Bun.file(path).stream().getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) hasher.update(chunk.value);
  return hasher.digest("hex");
}
