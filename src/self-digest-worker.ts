// Hashes the running executable for src/self-digest.ts on its own thread, so start-up's other
// work runs beside it; answers once and is terminated.
import { sha256File } from "./self-digest.ts";

declare const self: Worker;

self.onmessage = async (event: MessageEvent<{ path: string }>) => {
  try {
    self.postMessage({ sha256: await sha256File(event.data.path) });
  } catch (err) {
    self.postMessage({ error: (err as Error).message });
  }
};
