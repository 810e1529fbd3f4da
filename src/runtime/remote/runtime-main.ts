// `auditor runtime --connect <middleware-url> --pin <kid|key>`: an extracted runtime. It holds
// no secrets and no tools: it dials the middleware, proves its own key (which the middleware
// pins in AUDITOR_RUNTIME_KEYS), checks the middleware's, and runs the sessions it is given in
// a worker pool, one WebSocket per session, reopening a slot after each.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "../../../sdk/crypto/encoding.ts";
import { keyId } from "../../../sdk/crypto/keys.ts";
import { deriveP256KeyPair, type P256KeyPair } from "../../crypto/index.ts";
import { plainUrl } from "../../config.ts";
import { createLogger, type Logger } from "../../log.ts";
import { MemoryBudget } from "../memory-budget.ts";
import { RuntimePool } from "../pool.ts";
import type { GuestMessage } from "../protocol.ts";
import { RunGuest } from "../run-guest.ts";
import { startRuntimeHandshake, type SecureChannel } from "./secure-channel.ts";

export const RUNTIME_HELP = `auditor runtime --connect <middleware-url> --pin <kid|key> [--slots N] [--data-dir DIR]
                [--memory-budget-mb N]

Runs AgentScript sessions for an Auditor middleware, with no secrets and no tools of its own.
--memory-budget-mb bounds the memory all its sandboxes hold together (default 1024).
Its key is kept in <data dir>/runtime-key.json and printed at start: put it (or its kid) in the
middleware's AUDITOR_RUNTIME_KEYS.`;

const ArgsSchema = z.object({
  connect: plainUrl(/^(http|https|ws|wss)$/, "the middleware's URL"),
  pin: z
    .array(z.string().min(16))
    .min(1, "--pin: the middleware's identity key or kid (from its /attestation)"),
  slots: z.coerce.number().int().min(1).max(256).default(4),
  dataDir: z.string().default("./data-runtime"),
  memoryBudgetMb: z.coerce.number().int().min(64).max(1_048_576).default(1024),
});

function parse(argv: string[]) {
  const raw: Record<string, unknown> = { pin: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--connect") raw.connect = value;
    else if (flag === "--pin") (raw.pin as string[]).push(value);
    else if (flag === "--slots") raw.slots = value;
    else if (flag === "--data-dir") raw.dataDir = value;
    else if (flag === "--memory-budget-mb") raw.memoryBudgetMb = value;
    else throw new Error(`unknown argument ${flag}`);
  }
  const parsed = ArgsSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      parsed.error.issues
        .map((i) => (i.path[0] === "connect" ? `--connect: ${i.message}` : i.message))
        .join("; "),
    );
  return parsed.data;
}

/** The runtime's long-term key: made once, kept in its data dir. */
function runtimeKey(dataDir: string): P256KeyPair {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, "runtime-key.json");
  let seed: Uint8Array;
  try {
    seed = fromBase64Url((JSON.parse(readFileSync(file, "utf8")) as { seed: string }).seed);
  } catch {
    seed = crypto.getRandomValues(new Uint8Array(32));
    writeFileSync(file, JSON.stringify({ seed: toBase64Url(seed) }), { mode: 0o600 });
  }
  return deriveP256KeyPair(seed, "auditor/runtime/v1");
}

export async function runRuntime(argv: string[]): Promise<number> {
  if (argv.includes("--help")) {
    console.log(RUNTIME_HELP);
    return 0;
  }
  let args;
  try {
    args = parse(argv);
  } catch (err) {
    console.error(`auditor runtime: ${(err as Error).message}\n\n${RUNTIME_HELP}`);
    return 2;
  }
  const log = createLogger("info");
  const key = runtimeKey(args.dataDir);
  log.info("runtime key", { kid: keyId(key.publicKey), publicKey: toBase64Url(key.publicKey) });
  const cores = availableParallelism();
  const maxWorkers = 8 * cores;
  const pool = new RuntimePool({
    minWorkers: cores,
    maxWorkers,
    budget: new MemoryBudget(args.memoryBudgetMb * 1024 * 1024, maxWorkers),
  });
  const url = new URL("/runtime/attach", args.connect.replace(/^http/, "ws")).href;
  let stopping = false;
  for (let i = 0; i < args.slots; i++) void slotLoop(url, key, args.pin, pool, log, () => stopping);
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => resolve());
  });
  stopping = true;
  pool.terminate();
  return 0;
}

/** One slot: attach, run one session, detach; again, with backoff while the middleware is away. */
async function slotLoop(
  url: string,
  key: P256KeyPair,
  pins: string[],
  pool: RuntimePool,
  log: Logger,
  stopping: () => boolean,
) {
  let backoff = 100;
  while (!stopping()) {
    const outcome = await runOneSession(url, key, pins, pool, log);
    if (outcome === "ran") backoff = 100;
    else {
      await Bun.sleep(backoff);
      backoff = Math.min(backoff * 2, 5_000);
    }
  }
}

function runOneSession(
  url: string,
  key: P256KeyPair,
  pins: string[],
  pool: RuntimePool,
  log: Logger,
): Promise<"ran" | "failed"> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    let channel: SecureChannel | undefined;
    let ran = false;
    let handshake: Awaited<ReturnType<typeof startRuntimeHandshake>> | undefined;
    const wire = {
      send: (text: string) => socket.send(text),
      close: (code?: number, reason?: string) => socket.close(code, reason),
    };
    socket.onopen = async () => {
      handshake = await startRuntimeHandshake(key, pins);
      socket.send(handshake.hello);
    };
    socket.onmessage = async (event) => {
      const text = String(event.data);
      if (!channel) {
        try {
          const done = await handshake!.finish(text, wire);
          socket.send(done.auth);
          channel = done.channel;
          serve(channel);
        } catch (err) {
          log.error("refused the middleware", { reason: (err as Error).message });
          socket.close(1008, "handshake refused");
        }
        return;
      }
      channel.receive(text);
    };
    socket.onclose = () => {
      channel?.close("closed");
      resolve(ran ? "ran" : "failed");
    };
    socket.onerror = () => socket.close();

    // The session runs in this process's worker pool; its tool calls go back to the middleware.
    const serve = (ch: SecureChannel) =>
      new RunGuest(
        {
          send: (message: GuestMessage) => ch.send(message),
          onMessage: (h) => ch.onMessage(h),
          onClose: (h) => ch.onClose(h),
        },
        {
          validate: true,
          onViolation: (reason) => ch.close(reason),
          runner: (code, options) => {
            ran = true;
            log.info("running a session", { sessionId: options.sessionId });
            return pool.run(code, options);
          },
        },
      );
  });
}
