// The session directory: with a shared store (AUDITOR_STATE_URL), each instance registers the
// sessions it holds, so that any instance can find a session's owner and forward a request
// there. An entry is the store's own sealed record: its name is the session id HMAC-hashed as
// every state name is, its value `{ instanceId, url }` sealed under the app's sealing key (so
// the store learns neither, and cannot point a session anywhere else). Nothing else about the
// session is written. Entries expire DIRECTORY_TTL_MS after their last renewal and are renewed
// every DIRECTORY_RENEW_MS while this instance holds the session, so a dead instance's entries
// are gone within seconds; a disposed session's entry is removed at the next renewal.
import { z } from "zod";
import type { Logger } from "../log.ts";
import type { StateView } from "../store/index.ts";
import { InstanceIdSchema } from "./peer-wire.ts";

/**
 * DIRECTORY_TTL_MS = 10 s, renewed every DIRECTORY_RENEW_MS = 3 s: two renewals in a row may
 * fail (a store hiccup) before a live session's entry lapses, and a killed instance's entries
 * are gone at most 10 s after its last renewal.
 */
export const DIRECTORY_TTL_MS = 10_000;
export const DIRECTORY_RENEW_MS = 3_000;
/** Writes in flight at once while renewing (a thousand sessions renew in a few round trips). */
const RENEW_BATCH = 64;

/** Only what newSessionId() makes is looked up: other ids cannot be anyone's session. */
const SESSION_ID_PATTERN = /^ses_[A-Za-z0-9_-]{22}$/;

const OwnerSchema = z.object({ instanceId: InstanceIdSchema, url: z.string().url() }).strict();
export type SessionOwner = z.infer<typeof OwnerSchema>;

export interface DirectoryTiming {
  ttlMs: number;
  renewMs: number;
}

export class SessionDirectory {
  private self: SessionOwner | undefined;
  private readonly registered = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private renewal: Promise<void> | undefined;

  constructor(
    /** The shared store, scoped to the directory's names. */
    private readonly view: StateView,
    /** Whether this instance still holds the session (running or retained after its end). */
    private readonly holds: (sessionId: string) => boolean,
    private readonly log: Logger,
    private readonly timing: DirectoryTiming = {
      ttlMs: DIRECTORY_TTL_MS,
      renewMs: DIRECTORY_RENEW_MS,
    },
  ) {}

  /**
   * From now on sessions started here are registered under this address (known once the
   * listener has its port). Without it this instance only looks owners up and forwards.
   */
  announce(self: SessionOwner): void {
    this.self = OwnerSchema.parse(self);
    this.timer ??= setInterval(
      () =>
        void (this.renewal ??= this.renew()
          .catch((err) => this.log.warn("renewing the session directory failed", { err }))
          .finally(() => (this.renewal = undefined))),
      this.timing.renewMs,
    );
    this.timer.unref?.();
  }

  get address(): SessionOwner | undefined {
    return this.self;
  }

  /** Registers a session before its id is given out; throws when the store cannot be written. */
  async register(sessionId: string): Promise<void> {
    if (!this.self) return;
    await this.view.put(sessionId, this.self, { ttlMs: this.timing.ttlMs });
    this.registered.add(sessionId);
  }

  /** The instance that holds the session, if the directory names one (throws on a store failure). */
  async owner(sessionId: string): Promise<SessionOwner | undefined> {
    if (!SESSION_ID_PATTERN.test(sessionId)) return undefined;
    const entry = await this.view.get(sessionId);
    if (entry === undefined) return undefined;
    const parsed = OwnerSchema.safeParse(entry);
    if (!parsed.success) {
      // Sealed under our key, so written by an instance of this app: a bug, not an attack.
      this.log.warn("a session directory entry is malformed; ignoring it");
      return undefined;
    }
    return parsed.data;
  }

  /** Whether an owner entry names this instance (a stale one, or a session not yet started). */
  isSelf(owner: SessionOwner): boolean {
    return (
      this.self !== undefined &&
      (owner.instanceId === this.self.instanceId || owner.url === this.self.url)
    );
  }

  /** Stops renewing and removes this instance's entries, so nobody forwards to it (shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.self = undefined;
    await this.renewal;
    const ids = [...this.registered];
    this.registered.clear();
    await Promise.allSettled(ids.map((id) => this.view.delete(id)));
  }

  /** Renews the entries of sessions still held; removes those of sessions disposed since. */
  private async renew(): Promise<void> {
    const self = this.self!;
    const ids = [...this.registered];
    let failures = 0;
    for (let at = 0; at < ids.length && this.timer; at += RENEW_BATCH) {
      const results = await Promise.allSettled(
        ids.slice(at, at + RENEW_BATCH).map(async (id) => {
          if (this.holds(id)) return this.view.put(id, self, { ttlMs: this.timing.ttlMs });
          await this.view.delete(id);
          this.registered.delete(id);
        }),
      );
      failures += results.filter((r) => r.status === "rejected").length;
    }
    if (failures > 0)
      this.log.warn("renewing session directory entries failed; retrying at the next renewal", {
        failures,
      });
  }
}
