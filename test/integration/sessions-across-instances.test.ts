// Sessions across instances (README "Scaling beyond one instance"): two real server processes
// of one app share a PostgreSQL or a Redis, behind a round-robin proxy written here (as the
// dstack gateway, it does not route by session id). Every session request after the start is
// sent twice in a row, so one lands on the session's owner and one on the other instance, which
// must forward it: state, input, resume from a seq, refs/resolve and cancel, plaintext and
// encrypted (with the spec-only client), all answer as the owner does. The owner's SIGKILL
// gives clients a clear ending; a peer with another identity key is refused both ways; the
// store holds hashed names and sealed values only. Each run uses its own PostgreSQL schema and
// a Redis database other suites do not touch, and drops nothing but its own schema.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient, SQL } from "bun";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createDevTee } from "../../src/tee/dev.ts";
import { createLogger } from "../../src/log.ts";
import { SessionDirectory } from "../../src/sessions/directory.ts";
import { SealedStore } from "../../src/store/index.ts";
import { ndjsonLines } from "../../sdk/client/ndjson.ts";
import { createClient } from "../../sdk/client/index.ts";
import {
  safeJson,
  startAuditor,
  tempDir,
  type AuditorProcess,
} from "../helpers/auditor-process.ts";
import { open, seal, SpecClient, type EncLine, type SpecKeys } from "../helpers/spec-client.ts";

const BASES = {
  postgres:
    process.env.AUDITOR_TEST_POSTGRES_URL ?? "postgres://auditor:auditor@127.0.0.1:5432/auditor",
  redis: process.env.AUDITOR_TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
};
/** A Redis database of this suite's own (others use 0), so nobody's clean-up touches our keys. */
const REDIS_DB = 12;
/** The directory's expiry (src/sessions/directory.ts): a dead owner's entries are gone after it. */
const TTL_MS = 10_000;

type Kind = keyof typeof BASES;

async function reachable(kind: Kind): Promise<boolean> {
  try {
    if (kind === "postgres") {
      const sql = new SQL(BASES.postgres);
      await sql`SELECT 1`;
      await sql.close();
    } else {
      const redis = new RedisClient(BASES.redis);
      await redis.send("PING", []);
      redis.close();
    }
    return true;
  } catch {
    return false;
  }
}

interface RawRecord {
  name: string;
  value: string;
}

/** A store URL no other run shares, what it holds (raw), and how to remove it. */
async function isolatedStore(kind: Kind) {
  if (kind === "postgres") {
    const schema = `auditor_i26_${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`;
    const admin = new SQL(BASES.postgres);
    await admin.unsafe(`CREATE SCHEMA "${schema}"`);
    const url = `${BASES.postgres}${BASES.postgres.includes("?") ? "&" : "?"}search_path=${schema}`;
    return {
      url,
      async raw(): Promise<RawRecord[]> {
        const rows = await admin.unsafe(`SELECT key, ct FROM "${schema}".auditor_sealed`);
        return rows.map((r: { key: string; ct: Uint8Array }) => ({
          name: r.key,
          value: Buffer.from(r.ct).toString("latin1"),
        }));
      },
      async drop() {
        await admin.unsafe(`DROP SCHEMA "${schema}" CASCADE`);
        await admin.close();
      },
    };
  }
  const target = new URL(BASES.redis);
  target.pathname = `/${REDIS_DB}`;
  const redis = new RedisClient(target.href);
  return {
    url: target.href,
    async raw(): Promise<RawRecord[]> {
      const names = (await redis.send("KEYS", ["auditor:sealed:*"])) as string[];
      const values = await Promise.all(names.map((n) => redis.get(n)));
      // A value is iv.ct.expiry, base64: the ciphertext's bytes are what could leak.
      return names.map((n, i) => ({
        name: n.slice("auditor:sealed:".length),
        value: Buffer.from(values[i]?.split(".")[1] ?? "", "base64").toString("latin1"),
      }));
    },
    // Our entries expire on their own (and are removed when an instance stops): nothing to flush.
    async drop() {
      redis.close();
    },
  };
}

/** Round robin over the backends, as a gateway that does not route by session id; a dead
 * backend is skipped for the next one (a gateway's health check would). A backend that dies
 * mid-response breaks the client's response off (node:http lets the proxy drop the socket). */
async function roundRobin(backends: AuditorProcess[]) {
  let next = 0;
  const served: { method: string; path: string; backend: number; status: number }[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([k, v]) => typeof v === "string" && k !== "host" && k !== "connection",
      ),
    ) as Record<string, string>;
    const first = next++;
    for (let i = 0; i < backends.length; i++) {
      const k = (first + i) % backends.length;
      let upstream: Response;
      try {
        upstream = await fetch(backends[k]!.url + req.url, {
          method: req.method,
          headers,
          body: req.method === "GET" ? undefined : Buffer.concat(chunks),
          redirect: "manual",
        });
      } catch {
        continue; // the next backend
      }
      served.push({
        method: req.method!,
        path: new URL(req.url!, "http://x").pathname,
        backend: k,
        status: upstream.status,
      });
      const out = Object.fromEntries(
        [...upstream.headers].filter(
          ([name]) => !["content-length", "transfer-encoding", "connection"].includes(name),
        ),
      );
      res.writeHead(upstream.status, out);
      try {
        const reader = upstream.body?.getReader();
        for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader!.read())
          res.write(chunk.value);
        res.end();
      } catch {
        res.destroy();
      }
      return;
    }
    res.writeHead(502).end("no backend answered");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    /** The backend the next request goes to first. */
    get next() {
      return next % backends.length;
    },
    stop: () => void server.closeAllConnections(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Lines of an NDJSON response as they arrive, and how the stream ended. */
class Lines {
  readonly lines: string[] = [];
  ending: "clean" | "broken" | undefined;
  private wake: () => void = () => {};
  readonly done: Promise<void>;

  constructor(res: Response) {
    this.done = (async () => {
      try {
        for await (const line of ndjsonLines(res.body!)) {
          if (!line.complete) break;
          this.lines.push(line.text);
          this.wake();
        }
        this.ending ??= "clean";
      } catch {
        this.ending = "broken";
      }
      this.wake();
    })();
  }

  get events(): any[] {
    return this.lines.map((l) => JSON.parse(l));
  }

  /** Waits until `count` lines have arrived (fails if the stream ends first). */
  async atLeast(count: number): Promise<void> {
    while (this.lines.length < count) {
      if (this.ending)
        throw new Error(
          `the stream ended (${this.ending}) after ${this.lines.length} lines, before ${count}`,
        );
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Waits for a plaintext event matching `match`, returning it. */
  async until(match: (event: any) => boolean): Promise<any> {
    for (let seen = 0; ; seen++) {
      await this.atLeast(seen + 1);
      const event = JSON.parse(this.lines[seen]!);
      if (match(event)) return event;
    }
  }
}

/** The first log line with `msg` that `instance` wrote after its first `from` lines (waits for it). */
async function logged(
  instance: AuditorProcess,
  from: number,
  msg: string,
): Promise<Record<string, any>> {
  for (;;) {
    const line = instance.lines
      .slice(from)
      .map(safeJson)
      .find((l) => l?.msg === msg);
    if (line) return line;
    await Bun.sleep(10);
  }
}

const json = { "content-type": "application/json" };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The same request twice in a row: under round robin, one reaches each instance. */
async function twice(send: () => Promise<Response>): Promise<{ status: number; body: any }[]> {
  const out = [];
  for (let i = 0; i < 2; i++) {
    const res = await send();
    out.push({ status: res.status, body: await res.json() });
  }
  return out;
}

const SCRIPT = `const users = await callTool("get_users", {});
const first = await callTool("input", { prompt: "first" });
console.log("got " + first);
const second = await callTool("input", { prompt: "second" });
return { users, first, second: String(second) };`;

for (const kind of ["postgres", "redis"] as const) {
  const available = await reachable(kind);
  if (!available) {
    const message = `${kind} is not reachable at ${BASES[kind]}: run scripts/test-services.sh (after apt-get install postgresql redis-server); .ci/run does`;
    if (process.env.CI) test(`${kind} is running`, () => expect(message).toBe(`${kind} reachable`));
    else console.warn(`skipping the sessions-across-instances tests on ${kind}: ${message}`);
  }

  describe.skipIf(!available)(`sessions across two instances sharing ${kind}`, () => {
    let store: Awaited<ReturnType<typeof isolatedStore>>;
    let instances: AuditorProcess[];
    let proxy: Awaited<ReturnType<typeof roundRobin>>;
    let identityKey: string;
    let kid: string;
    const dataDir = tempDir();
    const env = () => ({
      AUDITOR_TEE: "dev",
      AUDITOR_STATE_URL: store.url,
      AUDITOR_RATE_LIMIT_PER_MIN: "1000000",
    });

    beforeAll(async () => {
      store = await isolatedStore(kind);
      // One data dir: the dev TEE's root key lives there, so both hold the same keys, as two
      // CVMs of one dstack app do (one after the other: the first makes the key).
      const first = await startAuditor({ dataDir, env: env() });
      instances = [first, await startAuditor({ dataDir, env: env() })];
      proxy = await roundRobin(instances);
      ({ identityKey, kid } = (await (await fetch(`${proxy.url}/attestation`)).json()).statement);
    });
    afterAll(async () => {
      proxy?.stop();
      await proxy?.close();
      await Promise.all((instances ?? []).map((i) => i.stop()));
      await store?.drop();
    });

    /** Starts a session through the proxy; the instance it landed on owns it. */
    async function start(body: object) {
      const res = await fetch(`${proxy.url}/sessions`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ protocolVersion: 1, ...body }),
      });
      expect(res.status).toBe(200);
      const owner = proxy.served.at(-1)!.backend;
      return { stream: new Lines(res), owner };
    }

    /** Which instances served requests for `path` (and that all of them succeeded). */
    const servedBy = (method: string, path: string) => {
      const hits = proxy.served.filter((s) => s.method === method && s.path === path);
      return {
        backends: [...new Set(hits.map((h) => h.backend))].sort(),
        statuses: [...new Set(hits.map((h) => h.status))],
      };
    };
    /** Each of a session's requests went through both instances (the proxy alternates). */
    const expectServedByBoth = (id: string) => {
      for (const [method, path] of [
        ["GET", `/sessions/${id}`],
        ["GET", `/sessions/${id}/stream`],
        ["POST", `/sessions/${id}/input`],
        ["POST", "/refs/resolve"],
      ] as const) {
        expect({ path, ...servedBy(method, path) }).toMatchObject({ path, backends: [0, 1] });
      }
    };

    test("plaintext: state, resume, input and refs/resolve answer alike through either instance", async () => {
      const { stream } = await start({ code: SCRIPT, refPolicy: { resolveReturned: false } });
      await stream.atLeast(1);
      const init = stream.events[0];
      const { sessionId: id } = init;
      const token = init.payload.sessionToken;
      const firstInput = await stream.until(
        (e) => e.type === "tool_call" && e.payload.toolName === "input",
      );

      const states = await twice(() =>
        fetch(`${proxy.url}/sessions/${id}`, { headers: bearer(token) }),
      );
      expect(states.map((s) => s.status)).toEqual([200, 200]);
      expect(states[0]!.body).toEqual(states[1]!.body);
      expect(states[0]!.body).toMatchObject({
        sessionId: id,
        state: "waiting_for_tool",
        lastSeq: firstInput.seq,
      });

      // Two resumes from seq 2, one of them forwarded: both stay open and follow the session live.
      const resumes = [];
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${proxy.url}/sessions/${id}/stream?fromSeq=2`, {
          headers: bearer(token),
        });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe("application/x-ndjson");
        resumes.push(new Lines(res));
      }

      const applied1 = await twice(() =>
        fetch(`${proxy.url}/sessions/${id}/input`, {
          method: "POST",
          headers: { ...json, ...bearer(token) },
          body: JSON.stringify({ callId: firstInput.payload.callId, value: "Ada" }),
        }),
      );
      expect(applied1).toEqual([
        { status: 200, body: { sessionId: id, callId: firstInput.payload.callId, applied: true } },
        { status: 200, body: { sessionId: id, callId: firstInput.payload.callId, applied: false } },
      ]);
      const secondInput = await stream.until(
        (e) =>
          e.type === "tool_call" &&
          e.payload.toolName === "input" &&
          e.payload.callId !== firstInput.payload.callId,
      );
      const applied2 = await twice(() =>
        fetch(`${proxy.url}/sessions/${id}/input`, {
          method: "POST",
          headers: { ...json, ...bearer(token) },
          body: JSON.stringify({ callId: secondInput.payload.callId, value: "Grace" }),
        }),
      );
      expect(applied2.map((a) => a.body.applied)).toEqual([true, false]);

      const final = await stream.until((e) => e.type === "final");
      const ref = final.payload.result.users?.$ref?.id;
      expect(ref).toMatch(/^ref_/);
      expect(final.payload).toMatchObject({ ok: true, result: { first: "Ada", second: "Grace" } });
      await stream.done;
      expect(stream.ending).toBe("clean");
      // The resumed streams (one forwarded) carry exactly the owner's lines from seq 2 on.
      for (const resume of resumes) {
        await resume.done;
        expect(resume.ending).toBe("clean");
        expect(resume.lines).toEqual(stream.lines.slice(1));
      }

      const resolved = await twice(() =>
        fetch(`${proxy.url}/refs/resolve`, {
          method: "POST",
          headers: { ...json, ...bearer(token) },
          body: JSON.stringify({ sessionId: id, refs: [ref] }),
        }),
      );
      expect(resolved.map((r) => r.status)).toEqual([200, 200]);
      expect(resolved[0]!.body).toEqual(resolved[1]!.body);
      expect(resolved[0]!.body.values[ref]).toHaveLength(3);

      // The owner's refusals come back unchanged too.
      const wrongToken = await twice(() =>
        fetch(`${proxy.url}/sessions/${id}`, { headers: bearer("not-the-token") }),
      );
      expect(wrongToken.map((w) => [w.status, w.body.error])).toEqual([
        [403, "forbidden"],
        [403, "forbidden"],
      ]);
      const conflict = await twice(() =>
        fetch(`${proxy.url}/sessions/${id}/input`, {
          method: "POST",
          headers: { ...json, ...bearer(token) },
          body: JSON.stringify({ callId: firstInput.payload.callId, value: "Eve" }),
        }),
      );
      expect(conflict.map((c) => [c.status, c.body.error])).toEqual([
        [409, "conflict"],
        [409, "conflict"],
      ]);

      expectServedByBoth(id);
    }, 30_000);

    test("plaintext: a cancel through either instance ends the session", async () => {
      const { stream } = await start({ code: SCRIPT });
      await stream.until((e) => e.type === "tool_call" && e.payload.toolName === "input");
      const { sessionId: id, payload } = stream.events[0];
      const cancels = await twice(() =>
        fetch(`${proxy.url}/sessions/${id}/cancel`, {
          method: "POST",
          headers: bearer(payload.sessionToken),
        }),
      );
      expect(cancels).toEqual([
        { status: 200, body: { sessionId: id, state: "cancelled" } },
        { status: 200, body: { sessionId: id, state: "cancelled" } },
      ]);
      expect((await stream.until((e) => e.type === "final")).payload).toMatchObject({
        ok: false,
        error: { code: "cancelled" },
      });
      expect(servedBy("POST", `/sessions/${id}/cancel`)).toEqual({
        backends: [0, 1],
        statuses: [200],
      });
    }, 30_000);

    test("what the peer channel cannot carry is refused by the instance the client reached; the channel carries on", async () => {
      const { stream, owner } = await start({ code: SCRIPT });
      await stream.atLeast(1);
      const { sessionId: id, payload } = stream.events[0];
      const other = instances[1 - owner]!;
      const huge = await fetch(`${other.url}/sessions/${id}/input`, {
        method: "POST",
        headers: { ...json, ...bearer(payload.sessionToken) },
        body: JSON.stringify({ callId: "c", value: "x".repeat(520 * 1024) }),
      });
      expect([huge.status, (await huge.json()).error]).toEqual([413, "payload_too_large"]);
      const long = await fetch(`${other.url}/sessions/${id}/stream?fromSeq=${"1".repeat(3_000)}`, {
        headers: bearer(payload.sessionToken),
      });
      expect([long.status, (await long.json()).error]).toEqual([400, "invalid_request"]);
      const state = await fetch(`${other.url}/sessions/${id}`, {
        headers: bearer(payload.sessionToken),
      });
      expect([state.status, (await state.json()).sessionId]).toEqual([200, id]);
      await fetch(`${other.url}/sessions/${id}/cancel`, {
        method: "POST",
        headers: bearer(payload.sessionToken),
      });
    });

    test("a session no instance holds is 404 through either instance", async () => {
      const answers = await twice(() =>
        fetch(`${proxy.url}/sessions/ses_AAAAAAAAAAAAAAAAAAAAAA`, { headers: bearer("x") }),
      );
      expect(answers.map((a) => [a.status, a.body.error])).toEqual([
        [404, "not_found"],
        [404, "not_found"],
      ]);
    });

    test("encrypted: envelopes and sealed replies pass through the other instance unopened", async () => {
      const client = await SpecClient.create(identityKey);
      const { stream } = await start({
        code: SCRIPT,
        refPolicy: { resolveReturned: false },
        encryption: { mode: "required", clientPublicKey: client.publicKeyB64 },
      });
      await stream.atLeast(1);
      const init = stream.events[0];
      const id: string = init.sessionId;
      const keys: SpecKeys = await client.handshake(id, init.payload.encryption);
      let read = 1;
      const nextEvent = async () => {
        await stream.atLeast(read + 1);
        const line = JSON.parse(stream.lines[read]!) as EncLine;
        read++;
        return (await open(keys.s2c, line, read, kid)) as any;
      };
      const untilEvent = async (match: (e: any) => boolean) => {
        for (;;) {
          const event = await nextEvent();
          if (match(event)) return event;
        }
      };
      let controlSeq = 0;
      /** A sealed control message (its own seq), and its opened reply. */
      const control = async (path: string, type: string, body: unknown) => {
        const seq = ++controlSeq;
        const res = await fetch(`${proxy.url}${path}`, {
          method: "POST",
          headers: json,
          body: JSON.stringify(await seal(keys.c2s, id, seq, kid, { seq, type, body })),
        });
        const reply = (await open(keys.reply, (await res.json()) as EncLine, seq, kid)) as any;
        expect(reply.status).toBe(res.status);
        return reply;
      };

      const firstInput = await untilEvent(
        (e) => e.type === "tool_call" && e.payload.toolName === "input",
      );
      const states = await twice(() =>
        fetch(`${proxy.url}/sessions/${id}`, { headers: bearer(keys.token) }),
      );
      expect(states.map((s) => [s.status, s.body.state])).toEqual([
        [200, "waiting_for_tool"],
        [200, "waiting_for_tool"],
      ]);
      const resumes = [];
      for (let i = 0; i < 2; i++)
        resumes.push(
          new Lines(
            await fetch(`${proxy.url}/sessions/${id}/stream?fromSeq=2`, {
              headers: bearer(keys.token),
            }),
          ),
        );

      // Bearer tokens and plaintext bodies are refused on an encrypted session, by either instance.
      const plain = await twice(() =>
        fetch(`${proxy.url}/sessions/${id}/input`, {
          method: "POST",
          headers: { ...json, ...bearer(keys.token) },
          body: JSON.stringify({ callId: firstInput.payload.callId, value: "Ada" }),
        }),
      );
      expect(plain.map((p) => [p.status, p.body.error])).toEqual([
        [400, "envelope_required"],
        [400, "envelope_required"],
      ]);
      // An envelope under another key is refused with the same bytes and spends nothing.
      const forged = await twice(async () =>
        fetch(`${proxy.url}/sessions/${id}/input`, {
          method: "POST",
          headers: json,
          body: JSON.stringify(
            await seal(keys.s2c, id, controlSeq + 1, kid, {
              seq: controlSeq + 1,
              type: "input",
              body: {},
            }),
          ),
        }),
      );
      expect(forged).toEqual([
        {
          status: 400,
          body: { error: "decrypt_failed", message: "the envelope could not be opened" },
        },
        {
          status: 400,
          body: { error: "decrypt_failed", message: "the envelope could not be opened" },
        },
      ]);

      expect(
        (
          await control(`/sessions/${id}/input`, "input", {
            callId: firstInput.payload.callId,
            value: "Ada",
          })
        ).body,
      ).toEqual({ sessionId: id, callId: firstInput.payload.callId, applied: true });
      expect(
        (
          await control(`/sessions/${id}/input`, "input", {
            callId: firstInput.payload.callId,
            value: "Ada",
          })
        ).body,
      ).toMatchObject({ applied: false });
      const secondInput = await untilEvent(
        (e) => e.type === "tool_call" && e.payload.toolName === "input",
      );
      expect(
        (
          await control(`/sessions/${id}/input`, "input", {
            callId: secondInput.payload.callId,
            value: "Grace",
          })
        ).body,
      ).toMatchObject({ applied: true });
      expect(
        (
          await control(`/sessions/${id}/input`, "input", {
            callId: secondInput.payload.callId,
            value: "Grace",
          })
        ).body,
      ).toMatchObject({ applied: false });
      const final = await untilEvent((e) => e.type === "final");
      expect(final.payload).toMatchObject({ ok: true, result: { first: "Ada", second: "Grace" } });

      const ref = final.payload.result.users.$ref.id;
      for (let i = 0; i < 2; i++) {
        const reply = await control("/refs/resolve", "refs_resolve", { refs: [ref] });
        expect(reply).toMatchObject({ status: 200, body: { sessionId: id } });
        expect(reply.body.values[ref]).toHaveLength(3);
      }
      // The resumed streams carry the very ciphertext lines the owner sent.
      for (const resume of resumes) {
        await resume.done;
        expect(resume.lines).toEqual(stream.lines.slice(1));
      }
      expectServedByBoth(id);
    }, 30_000);

    test("the directory holds hashed names and sealed owner records only", async () => {
      const { stream } = await start({ code: SCRIPT });
      await stream.atLeast(1);
      const id = stream.events[0].sessionId;
      const rows = await store.raw();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.name).toMatch(/^[0-9a-f]{64}$/);
      const everything = rows.map((r) => r.value).join("");
      for (const secret of [id, ...instances.map((i) => new URL(i.url).port), "ins_", "http://"])
        expect(everything).not.toContain(secret);
      await fetch(`${proxy.url}/sessions/${id}/cancel`, {
        method: "POST",
        headers: bearer(stream.events[0].payload.sessionToken),
      });
    });

    test("a peer with another identity key is refused, both ways", async () => {
      // A third instance of another app (its own data dir, so its own keys) on the same store.
      const otherDir = tempDir();
      const other = await startAuditor({ dataDir: otherDir, env: env() });
      const log = createLogger("error");
      /** Plants a directory entry, sealed under `dataDir`'s keys, naming `owner` as the holder. */
      const plant = async (keysDir: string, owner: AuditorProcess) => {
        const tee = await createDevTee(keysDir);
        const sealed = await SealedStore.open(tempDir(), tee.sealingKey(), { url: store.url });
        const directory = new SessionDirectory(sealed.scope("sessions/directory"), () => true, log);
        directory.announce({ instanceId: "ins_planted0001", url: owner.url });
        const id = `ses_${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url")}`;
        await directory.register(id);
        return { id, close: async () => (await directory.close(), await sealed.close()) };
      };
      try {
        for (const [dialer, listener, keysDir] of [
          [other, instances[0]!, otherDir],
          [instances[0]!, other, dataDir],
        ] as const) {
          const planted = await plant(keysDir, listener);
          const [listenerSeen, dialerSeen] = [listener.lines.length, dialer.lines.length];
          const res = await fetch(`${dialer.url}/sessions/${planted.id}`, { headers: bearer("x") });
          expect(res.status).toBe(503);
          expect((await res.json()).error).toBe("session_owner_unavailable");
          // Logs arrive through a pipe, maybe after the answer: wait for them.
          const refused = await logged(listener, listenerSeen, "refused a peer");
          expect(refused.reason).toContain("another identity key");
          const down = await logged(dialer, dialerSeen, "marked a peer down");
          expect(down).toMatchObject({
            peer: listener.url,
            reason: expect.stringContaining("another identity key"),
          });
          await planted.close();
        }
      } finally {
        await other.stop();
      }
    }, 30_000);

    // Last: it kills an instance.
    test("the owner's SIGKILL gives every client a clear ending, and its entries expire", async () => {
      const client = await SpecClient.create(identityKey);
      // Both sessions on one instance: the request between them lands on the other.
      const plain = await start({ code: SCRIPT });
      await fetch(`${proxy.url}/healthz`);
      const sealed = await start({
        code: SCRIPT,
        encryption: { mode: "required", clientPublicKey: client.publicKeyB64 },
      });
      expect(sealed.owner).toBe(plain.owner);
      const owner = instances[plain.owner]!;
      const survivor = instances[1 - plain.owner]!;
      await plain.stream.until((e) => e.type === "tool_call" && e.payload.toolName === "input");
      await sealed.stream.atLeast(3);
      const plainId = plain.stream.events[0].sessionId;
      const plainToken = plain.stream.events[0].payload.sessionToken;
      const sealedId = sealed.stream.events[0].sessionId;
      const sealedToken = (
        await client.handshake(sealedId, sealed.stream.events[0].payload.encryption)
      ).token;
      // Streams through the survivor (forwarded to the owner).
      const forwardedPlain = new Lines(
        await fetch(`${survivor.url}/sessions/${plainId}/stream?fromSeq=1`, {
          headers: bearer(plainToken),
        }),
      );
      const forwardedSealed = new Lines(
        await fetch(`${survivor.url}/sessions/${sealedId}/stream?fromSeq=1`, {
          headers: bearer(sealedToken),
        }),
      );
      await forwardedPlain.atLeast(plain.stream.lines.length);
      await forwardedSealed.atLeast(3);
      // And the SDK, holding its own stream through the proxy, on the owner.
      if (proxy.next !== plain.owner) await fetch(`${proxy.url}/healthz`);
      const sdk = createClient({ baseUrl: proxy.url });
      const handle = await sdk.sessions.start(SCRIPT, { maxResumeAttempts: 2 });
      expect(proxy.served.at(-1)).toMatchObject({ path: "/sessions", backend: plain.owner });
      const seen = survivor.lines.length;

      await owner.stop("SIGKILL");

      // Plaintext through the survivor: an error event at the next seq, then a clean end.
      await forwardedPlain.done;
      const last = forwardedPlain.events.at(-1);
      expect(last).toMatchObject({
        sessionId: plainId,
        seq: forwardedPlain.events.length,
        type: "error",
        payload: { code: "session_owner_unavailable" },
      });
      expect(forwardedPlain.ending).toBe("clean");
      // Encrypted: the survivor cannot seal an ending, so the stream is broken off (a truncation).
      await forwardedSealed.done;
      expect(forwardedSealed.ending).toBe("broken");
      expect(
        forwardedSealed.events.every((e) => e.type === "enc" || e.type === "session_init"),
      ).toBe(true);
      // Streams straight from the owner break; a resume, a state or control request is answered.
      await Promise.all([plain.stream.done, sealed.stream.done]);
      expect([plain.stream.ending, sealed.stream.ending]).toEqual(["broken", "broken"]);
      for (const [id, token] of [
        [plainId, plainToken],
        [sealedId, sealedToken],
      ]) {
        for (const path of [`/sessions/${id}`, `/sessions/${id}/stream?fromSeq=2`]) {
          const res = await fetch(`${proxy.url}${path}`, { headers: bearer(token) });
          expect({ path, status: res.status, error: (await res.json()).error }).toEqual({
            path,
            status: 503,
            error: "session_owner_unavailable",
          });
          expect(res.headers.get("retry-after")).toBe("5");
        }
      }
      // The SDK's session fails with a typed error instead of waiting forever.
      await expect(handle.result()).rejects.toThrow();
      expect(await logged(survivor, seen, "marked a peer down")).toMatchObject({ peer: owner.url });

      // The dead owner's entries expire: then its sessions are simply unknown.
      // The survivor lives on (if it did not, say why: its exit and its last words).
      const exited = survivor.proc.exitCode !== null || survivor.proc.signalCode !== null;
      expect(
        exited
          ? {
              exitCode: survivor.proc.exitCode,
              signal: survivor.proc.signalCode,
              stderr: survivor.stderr().slice(-4_000),
              log: survivor.lines.slice(-20),
            }
          : "alive",
      ).toBe("alive");
      const deadline = Date.now() + 3 * TTL_MS;
      let status = 0;
      while (
        Date.now() < deadline &&
        (status = (
          await fetch(`${survivor.url}/sessions/${plainId}`, { headers: bearer(plainToken) })
        ).status) !== 404
      )
        await Bun.sleep(250);
      expect(status).toBe(404);
    }, 60_000);
  });
}
