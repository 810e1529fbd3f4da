// Private Redis and PostgreSQL servers on free loopback ports, for tests that stop, freeze or
// restart a store (the shared ones on 6379/5432 serve every engineer's tests and are never
// touched). Both come from Debian's packages (redis-server, postgresql); each keeps its data in
// a temp dir, so a stop and a start keep what was acknowledged. PostgreSQL refuses to run as
// root: as root its commands run as the postgres user (runuser), as scripts/test-services.sh does.
import { existsSync, readdirSync, readFileSync, rmSync, chownSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { tempDir } from "./auditor-process.ts";

export interface PrivateStore {
  readonly url: string;
  /** Stops the server cleanly (what it acknowledged is on disk); resolves once it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server keeps its sockets but answers nothing. */
  freeze(): void;
  thaw(): void;
  /** Stops it for good and removes its data. */
  destroy(): Promise<void>;
}

/** A port nothing listens on right now. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/** Why the private Redis cannot run here, or undefined. */
export function redisMissing(): string | undefined {
  return Bun.which("redis-server")
    ? undefined
    : "redis-server is not installed (apt-get install redis-server)";
}

export async function startPrivateRedis(): Promise<PrivateStore> {
  const port = freePort();
  const dir = tempDir("auditor-redis-");
  let proc: Bun.Subprocess | undefined;
  const start = async () => {
    // AOF with fsync on every write: a stop and start keep every acknowledged write.
    proc = Bun.spawn(
      [
        "redis-server",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    for (let i = 0; i < 200; i++) {
      if (
        Bun.spawnSync(["redis-cli", "-p", String(port), "ping"])
          .stdout.toString()
          .trim() === "PONG"
      )
        return;
      await Bun.sleep(25);
    }
    throw new Error(`private redis-server on port ${port} did not start`);
  };
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (!p) return;
    p.kill("SIGCONT");
    p.kill("SIGTERM");
    await p.exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    freeze: () => proc?.kill("SIGSTOP"),
    thaw: () => proc?.kill("SIGCONT"),
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PG_BIN = (() => {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  return version ? join(root, version, "bin") : undefined;
})();

/** Why the private PostgreSQL cannot run here, or undefined. */
export function postgresMissing(): string | undefined {
  return PG_BIN && existsSync(join(PG_BIN, "initdb"))
    ? undefined
    : "PostgreSQL's server binaries are not installed (apt-get install postgresql)";
}

export async function startPrivatePostgres(): Promise<PrivateStore> {
  const port = freePort();
  const dir = tempDir("auditor-pg-");
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const postgres = Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim();
    const group = Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim();
    chownSync(dir, Number(postgres), Number(group));
  }
  const run = (args: string[]) => {
    const command = asRoot ? ["runuser", "-u", "postgres", "--", ...args] : args;
    const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe" });
    if (result.exitCode !== 0)
      throw new Error(
        `${args.join(" ")} failed: ${result.stderr.toString()}${result.stdout.toString()}`,
      );
    return result.stdout.toString();
  };
  const data = join(dir, "data");
  run([
    join(PG_BIN!, "initdb"),
    "-D",
    data,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-N",
  ]);
  const ctl = (action: string) =>
    run([
      join(PG_BIN!, "pg_ctl"),
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-m",
      "fast",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      action,
    ]);
  const pid = () => Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  // The postmaster and every backend it forked: connections are served by the backends.
  const family = () => {
    const parent = pid();
    const children = readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return (
            readFileSync(`/proc/${d}/stat`, "utf8")
              .replace(/^.*\) /, "")
              .split(" ")[1] === String(parent)
          );
        } catch {
          return false;
        }
      });
    return [parent, ...children.map(Number)];
  };
  const signal = (name: NodeJS.Signals) => {
    for (const p of family()) {
      try {
        process.kill(p, name);
      } catch {} // a backend that ended meanwhile
    }
  };
  ctl("start");
  const psql = (sql: string) =>
    run(["psql", "-h", dir, "-p", String(port), "-U", "postgres", "-qc", sql]);
  psql("CREATE ROLE auditor LOGIN PASSWORD 'auditor'");
  psql("CREATE DATABASE auditor OWNER auditor");
  let running = true;
  return {
    url: `postgres://auditor:auditor@127.0.0.1:${port}/auditor`,
    async stop() {
      if (running) ctl("stop");
      running = false;
    },
    async start() {
      if (!running) ctl("start");
      running = true;
    },
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
    async destroy() {
      if (running) {
        signal("SIGCONT");
        ctl("stop");
      }
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
