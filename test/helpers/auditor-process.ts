// Starts the real server as a child process (from source, or a compiled binary) on a free
// loopback port and collects its structured log lines.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface AuditorProcess {
  readonly url: string;
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Every stdout line so far. */
  readonly lines: string[];
  stderr(): string;
  /** Sends a signal (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface StartOptions {
  env?: Record<string, string>;
  args?: string[];
  /** Command to run instead of `bun src/main.ts` (e.g. a compiled binary). */
  command?: string[];
  dataDir?: string;
}

export function tempDir(prefix = "auditor-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A minimal, explicit environment: nothing from the developer's shell leaks into a test. */
export function baseEnv(dataDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    PORT: "0",
    HOST: "127.0.0.1",
    AUDITOR_DATA_DIR: dataDir,
  };
}

export function spawnAuditor(options: StartOptions = {}) {
  const dataDir = options.dataDir ?? tempDir();
  const command = options.command ?? [process.execPath, "src/main.ts"];
  return Bun.spawn([...command, ...(options.args ?? [])], {
    cwd: join(import.meta.dir, "../.."),
    env: { ...baseEnv(dataDir), ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Runs the command to completion: for flags like --help, and for start-up failures. */
export async function runAuditor(options: StartOptions = {}) {
  const proc = spawnAuditor(options);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

export async function startAuditor(options: StartOptions = {}): Promise<AuditorProcess> {
  const proc = spawnAuditor(options);
  const lines: string[] = [];
  let stderr = "";
  void (async () => {
    const decoder = new TextDecoder();
    const reader = proc.stderr.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      stderr += decoder.decode(chunk.value, { stream: true });
  })();

  const url = await new Promise<string>((resolve, reject) => {
    // The server logs "listening" at info level; a run that never says it must not hang forever.
    const timer = setTimeout(
      () =>
        reject(
          new Error(`auditor did not log "listening" within 15 s:\n${lines.join("\n")}\n${stderr}`),
        ),
      15_000,
    );
    void collectLines(proc.stdout, lines, (line) => {
      const entry = safeJson(line);
      if (entry?.msg === "listening") {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${entry.port}`);
      }
    }).then(async () =>
      reject(
        new Error(
          `auditor exited before listening (code ${await proc.exited}):\n${lines.join("\n")}\n${stderr}`,
        ),
      ),
    );
  });

  return {
    url,
    proc,
    lines,
    stderr: () => stderr,
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

/** Appends each line of a process's output to `lines` as it arrives; resolves when the stream ends. */
export async function collectLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
  onLine: (line: string) => void = () => {},
): Promise<void> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let partial = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    partial += decoder.decode(chunk.value, { stream: true });
    const parts = partial.split("\n");
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      onLine(line);
    }
  }
}

export function safeJson(line: string): Record<string, any> | undefined {
  try {
    const value = JSON.parse(line);
    return value && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}
