// The audited fetch with real HTTP on loopback: policy refusals before any byte leaves,
// redirects re-checked per hop, the hash chain, and the report showing refusals.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { invokeAnswer } from "../../src/http/routes/functions.ts";
import { chainBreak, EgressLogEntrySchema } from "../../sdk/wire/egress-log.ts";
import { z } from "zod";
import {
  createAuditedFetch,
  EgressBlockedError,
  EgressLog,
  runAsCaller,
} from "../../src/egress/index.ts";
import { defineFunction, type RegisteredFunction } from "../../src/functions/define.ts";
import { FunctionHost } from "../../src/functions/host.ts";
import { createLogger } from "../../src/log.ts";
import { buildReport } from "../../src/report/index.ts";
import { SealedStore } from "../../src/store/index.ts";
import { SOURCE_PROVENANCE } from "../../src/source/index.ts";
import { createAttestor } from "../../src/tee/index.ts";
import { createDevTee } from "../../src/tee/dev.ts";
import { tempDir } from "../helpers/auditor-process.ts";

let allowed: ReturnType<typeof Bun.serve>;
let forbidden: ReturnType<typeof Bun.serve>;
const forbiddenHits: string[] = [];

beforeAll(() => {
  forbidden = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => (forbiddenHits.push(req.url), new Response("leaked")),
  });
  allowed = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/redirect-out")
        return Response.redirect(`http://127.0.0.1:${forbidden.port}/stolen`, 302);
      if (url.pathname === "/redirect-in") return Response.redirect(`/echo`, 307);
      return new Response(`echo ${req.method}`);
    },
  });
});
afterAll(() => {
  allowed.stop(true);
  forbidden.stop(true);
});

const caller = () => ({
  app: "test",
  fn: "probe",
  allowedOrigins: new Set([`http://127.0.0.1:${allowed.port}`]),
  secretValues: [],
});

describe("audited fetch", () => {
  test("an allowed host is reached and recorded without query values or bodies", async () => {
    const log = new EgressLog();
    const audited = createAuditedFetch(fetch, log);
    const res = await runAsCaller(caller(), () =>
      audited(`http://127.0.0.1:${allowed.port}/echo?token=hunter2&x=1`, {
        method: "POST",
        body: "private body",
      }),
    );
    expect(await res.text()).toBe("echo POST");
    const [entry] = log.list();
    expect(entry).toMatchObject({
      app: "test",
      fn: "probe",
      method: "POST",
      scheme: "http",
      path: "/echo",
      queryKeys: ["token", "x"],
      status: 200,
      allowed: true,
      requestBytes: 12,
      responseBytes: 9,
    });
    expect(entry!.requestSha256).toBe(
      new Bun.CryptoHasher("sha256").update("private body").digest("hex"),
    );
    expect(JSON.stringify(log.list())).not.toContain("hunter2");
    expect(JSON.stringify(log.list())).not.toContain("private body");
  });

  test("an undeclared host is refused before any byte leaves, and the refusal is recorded", async () => {
    const log = new EgressLog();
    const audited = createAuditedFetch(fetch, log);
    forbiddenHits.length = 0;
    await expect(
      runAsCaller(caller(), () => audited(`http://127.0.0.1:${forbidden.port}/x`)),
    ).rejects.toBeInstanceOf(EgressBlockedError);
    expect(forbiddenHits).toEqual([]);
    expect(log.list()[0]).toMatchObject({
      allowed: false,
      host: `127.0.0.1:${forbidden.port}`,
      status: null,
      error: "blocked by egress policy",
    });
    expect(log.hostStats("test")[0]).toMatchObject({ calls: 0, blocked: 1 });
  });

  test("allowed, refused and failed entries all match the entry schema verifiers parse with", async () => {
    const log = new EgressLog();
    const audited = createAuditedFetch(fetch, log);
    await runAsCaller(caller(), () =>
      audited(`http://127.0.0.1:${allowed.port}/echo?q=1`, { method: "POST", body: "x" }),
    ).then((r) => r.text());
    await runAsCaller(caller(), () => audited(`http://127.0.0.1:${forbidden.port}/x`)).catch(
      () => undefined,
    );
    await runAsCaller(caller(), () =>
      audited(`http://127.0.0.1:${allowed.port}/redirect-out`),
    ).catch(() => undefined);
    const entries = log.list();
    expect(entries.length).toBeGreaterThanOrEqual(3);
    for (const entry of entries) expect(EgressLogEntrySchema.parse(entry)).toEqual(entry);
    expect(entries.some((e) => e.error !== undefined)).toBe(true);
  });

  test("egress outside any function is refused", async () => {
    const audited = createAuditedFetch(fetch, new EgressLog());
    await expect(audited(`http://127.0.0.1:${allowed.port}/echo`)).rejects.toThrow(
      "outside any function",
    );
  });

  test("a redirect to an undeclared host is refused at that hop; one within policy is followed", async () => {
    const log = new EgressLog();
    const audited = createAuditedFetch(fetch, log);
    forbiddenHits.length = 0;
    await expect(
      runAsCaller(caller(), () => audited(`http://127.0.0.1:${allowed.port}/redirect-out`)),
    ).rejects.toBeInstanceOf(EgressBlockedError);
    expect(forbiddenHits).toEqual([]);
    const inside = await runAsCaller(caller(), () =>
      audited(`http://127.0.0.1:${allowed.port}/redirect-in`, { method: "POST", body: "b" }),
    );
    expect(await inside.text()).toBe("echo POST");
  });

  test("other schemes are refused even for an allowed host name", async () => {
    const audited = createAuditedFetch(fetch, new EgressLog());
    await expect(runAsCaller(caller(), () => audited(`file:///etc/passwd`))).rejects.toBeInstanceOf(
      EgressBlockedError,
    );
  });

  test("the log is hash-chained: editing or dropping an entry breaks verification", async () => {
    const log = new EgressLog();
    const audited = createAuditedFetch(fetch, log);
    for (let i = 0; i < 4; i++)
      await runAsCaller(caller(), () => audited(`http://127.0.0.1:${allowed.port}/echo`)).then(
        (r) => r.text(),
      );
    const entries = log.list();
    expect(chainBreak(entries)).toBeUndefined();
    expect(entries.at(-1)!.digest).toBe(log.headDigest());
    expect(chainBreak(entries.map((e, i) => (i === 1 ? { ...e, responseBytes: 1 } : e)))).toBe(2);
    expect(chainBreak([{ ...entries[0]!, prev: entries[1]!.digest }, ...entries.slice(1)])).toBe(1);
    expect(chainBreak([entries[0]!, entries[2]!, entries[3]!])).toBe(3);
  });

  test("the log keeps a bounded window in memory while the chain covers everything", async () => {
    const log = new EgressLog(3);
    const audited = createAuditedFetch(fetch, log);
    for (let i = 0; i < 5; i++)
      await runAsCaller(caller(), () => audited(`http://127.0.0.1:${allowed.port}/echo`)).then(
        (r) => r.text(),
      );
    expect(log.list().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(chainBreak(log.list())).toBeUndefined();
    expect(log.hostStats("test")[0]!.calls).toBe(5);
  });
});

describe("a function reaching for an undeclared host", () => {
  test("is refused, fails cleanly, and the refusal shows in the report", async () => {
    const rogue = defineFunction({
      name: "rogue",
      app: "rogue-app",
      description: "declares one host, tries another",
      input: z.object({ target: z.string() }),
      output: z.object({ ok: z.boolean() }),
      egress: [{ name: "ok", url: `http://127.0.0.1:${allowed.port}`, purpose: "allowed" }],
      secrets: [],
      async handler(input, ctx) {
        await ctx.fetch(input.target);
        return { ok: true };
      },
    });
    const registered: RegisteredFunction[] = [
      { definition: rogue, sources: { "rogue.ts": "source" } },
    ];
    const dataDir = tempDir();
    const tee = await createDevTee(dataDir);
    const egressLog = new EgressLog();
    const store = await SealedStore.open(dataDir, tee.sealingKey());
    const host = new FunctionHost(registered, {
      fetch: createAuditedFetch(fetch, egressLog),
      store,
      log: createLogger("error"),
      secrets: {},
      overrides: {},
      stateIdleTtlMs: 60_000,
    });
    forbiddenHits.length = 0;
    const result = invokeAnswer(
      await host.invoke("rogue", { target: `http://127.0.0.1:${forbidden.port}/exfiltrate` }),
    );
    expect(result.status).toBe(500);
    expect(result.body).toEqual({ error: "function_failed", message: "rogue failed" });
    expect(forbiddenHits).toEqual([]);
    const report = buildReport("rogue-app", {
      host,
      egressLog,
      attestor: createAttestor(tee, null, SOURCE_PROVENANCE),
      tee,
      channels: () => [],
      sessionTools: [],
      sessionMaxima: {},
      settings: {
        sessionCreationNeedsKey: false,
        demoTools: false,
        extractedRuntimes: false,
        rateLimitPerMinute: 120,
        maxInFlightPerAddress: 128,
        maxSessions: 10,
        maxSessionsPerCaller: 10,
        memoryBudgetMb: 64,
        logLevel: "info",
        corsOrigins: [],
      },
    })!;
    expect(report.observedEgress).toEqual([
      expect.objectContaining({ host: `127.0.0.1:${forbidden.port}`, calls: 0, blocked: 1 }),
    ]);
    expect(report.egressLog.recent[0]).toMatchObject({ fn: "rogue", allowed: false });
    store.close();
  });
});

describe("the process-wide fetch", () => {
  test("once installed, every fetch in the process is audited and it cannot be installed twice", async () => {
    const proc = Bun.spawn(
      [
        process.execPath,
        "test/fixtures/global-fetch-probe.ts",
        `http://127.0.0.1:${allowed.port}/echo`,
      ],
      {
        cwd: `${import.meta.dir}/../..`,
        stdout: "pipe",
      },
    );
    const outcomes = JSON.parse(await new Response(proc.stdout).text());
    expect(outcomes).toEqual({
      replaced: true,
      bareFetch: "EgressBlockedError",
      viaRequestObject: "EgressBlockedError",
      insideFunctionUndeclared: "EgressBlockedError",
      insideFunctionDeclared: "reached",
      secondInstall: "Error",
      recorded: [false, false, false, true],
    });
  });
});
