// The session directory over a real sealed store (bun:sqlite here; PostgreSQL and Redis in
// test/integration/sessions-across-instances.test.ts), with short timings: an entry lives while
// its session is held and is renewed, lapses when nobody renews it, goes at the first renewal
// after the session is disposed, and every entry goes when the instance stops.
import { afterEach, describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log.ts";
import { SessionDirectory } from "../../src/sessions/directory.ts";
import { SealedStore } from "../../src/store/index.ts";
import { tempDir } from "../helpers/auditor-process.ts";

const log = createLogger("error");
const self = { instanceId: "ins_aaaaaaaaaaaaaaaa", url: "http://127.0.0.1:9001" };
const id = (n: number) => `ses_${String(n).padStart(22, "0")}`;
const open: SealedStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function store() {
  const sealed = await SealedStore.open(tempDir(), crypto.getRandomValues(new Uint8Array(32)));
  open.push(sealed);
  return sealed;
}

/** Resolves once `check` holds, polling (what is asserted is the state, never the time). */
async function eventually(check: () => Promise<boolean>) {
  while (!(await check())) await Bun.sleep(10);
}

describe("the session directory", () => {
  test("an entry names its owner while the session is held, renewed past its expiry", async () => {
    const view = (await store()).scope("sessions/directory");
    const directory = new SessionDirectory(view, () => true, log, { ttlMs: 500, renewMs: 25 });
    directory.announce(self);
    await directory.register(id(1));
    await Bun.sleep(1_200); // over two expiries: only renewals keep it
    expect(await directory.owner(id(1))).toEqual(self);
    await directory.close();
  });

  test("an entry nobody renews lapses (an instance that died)", async () => {
    const view = (await store()).scope("sessions/directory");
    const directory = new SessionDirectory(view, () => true, log, { ttlMs: 50, renewMs: 60_000 });
    directory.announce(self);
    await directory.register(id(2));
    expect(await directory.owner(id(2))).toEqual(self);
    await eventually(async () => (await directory.owner(id(2))) === undefined);
    await directory.close();
  });

  test("a disposed session's entry goes at the next renewal; stopping removes every entry", async () => {
    const view = (await store()).scope("sessions/directory");
    const held = new Set([id(3), id(4)]);
    const directory = new SessionDirectory(view, (s) => held.has(s), log, {
      ttlMs: 60_000,
      renewMs: 20,
    });
    directory.announce(self);
    await directory.register(id(3));
    await directory.register(id(4));
    held.delete(id(3));
    await eventually(async () => (await view.get(id(3))) === undefined);
    expect(await directory.owner(id(4))).toEqual(self);
    await directory.close();
    expect(await view.get(id(4))).toBeUndefined();
    // Stopped: nothing is registered any more.
    await directory.register(id(5));
    expect(await view.get(id(5))).toBeUndefined();
  });

  test("without an address nothing is registered, but owners are still found", async () => {
    const view = (await store()).scope("sessions/directory");
    const forwarder = new SessionDirectory(view, () => true, log);
    await forwarder.register(id(6));
    expect(await view.get(id(6))).toBeUndefined();
    await view.put(id(7), self);
    expect(await forwarder.owner(id(7))).toEqual(self);
    expect(forwarder.isSelf(self)).toBe(false);
  });

  test("ids that no session can have are not looked up; a malformed record is ignored", async () => {
    const view = (await store()).scope("sessions/directory");
    const directory = new SessionDirectory(view, () => true, log);
    for (const bad of ["ses_short", "../../app/etherea/x", `ses_${"a".repeat(23)}`, ""]) {
      await view.put(bad, self);
      expect(await directory.owner(bad)).toBeUndefined();
    }
    await view.put(id(8), { instanceId: "ins_aaaaaaaaaaaaaaaa", url: "http://x", extra: true });
    expect(await directory.owner(id(8))).toBeUndefined();
    await view.put(id(9), { instanceId: "no", url: "http://x" });
    expect(await directory.owner(id(9))).toBeUndefined();
  });

  test("an entry naming this instance (by id or by URL) is its own", async () => {
    const directory = new SessionDirectory(
      (await store()).scope("sessions/directory"),
      () => true,
      log,
    );
    directory.announce(self);
    expect(directory.isSelf(self)).toBe(true);
    expect(directory.isSelf({ ...self, instanceId: "ins_bbbbbbbbbbbbbbbb" })).toBe(true);
    expect(directory.isSelf({ ...self, url: "http://127.0.0.1:9002" })).toBe(true);
    expect(
      directory.isSelf({ instanceId: "ins_bbbbbbbbbbbbbbbb", url: "http://127.0.0.1:9002" }),
    ).toBe(false);
    await directory.close();
  });
});
