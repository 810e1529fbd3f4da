// Hashes the running executable for src/self-digest.ts on its own thread, so start-up's other
// work runs beside it; answers once and is terminated. The thread has nothing else to do, so
// it reads synchronously, 1 MiB at a time (faster than a stream, and little memory).
import { closeSync, openSync, readSync } from "node:fs";

declare const self: Worker;

const CHUNK_BYTES = 1024 * 1024;

function sha256FileSync(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    const hasher = new Bun.CryptoHasher("sha256");
    for (
      let n = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      n > 0;
      n = readSync(fd, buffer, 0, CHUNK_BYTES, null)
    )
      hasher.update(buffer.subarray(0, n));
    return hasher.digest("hex");
  } finally {
    closeSync(fd);
  }
}

self.onmessage = (event: MessageEvent<{ path: string }>) => {
  try {
    self.postMessage({ sha256: sha256FileSync(event.data.path) });
  } catch (err) {
    self.postMessage({ error: (err as Error).message });
  }
};
