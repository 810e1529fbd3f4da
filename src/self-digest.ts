// The sha256 of the running executable, which /attestation reports as binarySha256. Only a
// `bun build --compile` binary has one: running from source there is no single measured file.
// Hashing the 100+ MB executable takes ~100 ms of a core, so start-up begins it before any
// other module is evaluated (src/start-early.ts) on a thread of its own
// (src/self-digest-worker.ts), and awaits it only where the statement is made.

/** Bun compiled executables load their entry point from the embedded /$bunfs filesystem. */
export function isCompiledBinary(): boolean {
  return Bun.main.startsWith("/$bunfs/");
}

let started: Promise<string | null> | undefined;

/** The digest, hashed once per process (off the main thread when a worker can be had). */
export function selfDigest(): Promise<string | null> {
  return (started ??= isCompiledBinary() ? hashOffThread(process.execPath) : Promise.resolve(null));
}

export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  const reader = Bun.file(path).stream().getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
    hasher.update(chunk.value);
  return hasher.digest("hex");
}

/** The compiled binary embeds the worker under its path relative to src/ (scripts/build.ts). */
function hashOffThread(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker("./self-digest-worker.ts");
    } catch {
      return resolve(sha256File(path));
    }
    const done = (settle: () => void) => {
      worker.terminate();
      settle();
    };
    worker.onmessage = (event: MessageEvent<{ sha256: string } | { error: string }>) => {
      const answer = event.data;
      done(() =>
        "sha256" in answer
          ? resolve(answer.sha256)
          : reject(new Error(`hashing the binary failed: ${answer.error}`)),
      );
    };
    // A worker that cannot run: the digest is still owed, so hash here.
    worker.onerror = () => done(() => resolve(sha256File(path)));
    worker.postMessage({ path });
  });
}
