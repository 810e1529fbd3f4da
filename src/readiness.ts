// Whether this instance can serve (GET /readyz), as opposed to whether the process is alive
// (/healthz): the state store answers, the TEE provider answers, and the server is not
// shutting down. Probes are shared and cached, so /readyz cannot be used to hammer the store
// or the guest agent however often it is asked; the store's health between probes is what the
// instance's own calls saw, so an outage shows at once without asking the store more often.
import { z } from "zod";
import type { StoreDescription, StoreHealthReport } from "./store/index.ts";

/** READY_CACHE_MS = 1 s: at most one probe of each dependency a second, whoever asks. */
export const READY_CACHE_MS = 1_000;

export interface ReadinessDeps {
  /** `health` is what the last call saw (every function call updates it); `probe` asks. */
  store: {
    description: StoreDescription;
    readonly health: StoreHealthReport;
    probe(): Promise<StoreHealthReport>;
  };
  tee: { provider: string; probe(): Promise<void> };
  /** True once a shutdown began: an orchestrator should stop sending traffic here. */
  shuttingDown: () => boolean;
  now?: () => number;
}

const StoreHealthSchema = z
  .object({
    ok: z.boolean(),
    since: z.string(),
    lastError: z.enum(["timeout", "unreachable", "auth", "error"]).nullable(),
  })
  .strict();

/** GET /readyz's answer (200 when ready, else 503). */
export const ReadinessReportSchema = z
  .object({
    ready: z.boolean(),
    store: z
      .object({
        ready: z.boolean(),
        kind: z.enum(["sqlite", "postgres", "redis"]),
        health: StoreHealthSchema,
      })
      .strict(),
    tee: z
      .object({
        ready: z.boolean(),
        provider: z.string(),
        lastError: z.literal("unreachable").nullable(),
      })
      .strict(),
    /** True once a shutdown began: an orchestrator should stop sending traffic here. */
    shuttingDown: z.boolean(),
    /** When the dependencies were last asked (ISO 8601). */
    checkedAt: z.string(),
  })
  .strict();
export type ReadinessReport = z.infer<typeof ReadinessReportSchema>;

type Probed = Omit<ReadinessReport, "ready" | "shuttingDown">;

export class Readiness {
  private cached: { at: number; probed: Promise<Probed> } | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: ReadinessDeps) {
    this.now = deps.now ?? Date.now;
  }

  async check(): Promise<ReadinessReport> {
    const now = this.now();
    if (!this.cached || now - this.cached.at >= READY_CACHE_MS) {
      this.cached = { at: now, probed: this.probe(now) };
    }
    const probed = await this.cached.probed;
    const health = this.deps.store.health;
    const store = { ...probed.store, ready: health.ok, health };
    const shuttingDown = this.deps.shuttingDown();
    const ready = store.ready && probed.tee.ready && !shuttingDown;
    return { ready, ...probed, store, shuttingDown };
  }

  private async probe(now: number): Promise<Probed> {
    const { store, tee } = this.deps;
    const [health, teeReady] = await Promise.all([
      store.probe(),
      tee.probe().then(
        () => true,
        () => false,
      ),
    ]);
    return {
      store: { ready: health.ok, kind: store.description.kind, health },
      tee: { ready: teeReady, provider: tee.provider, lastError: teeReady ? null : "unreachable" },
      checkedAt: new Date(now).toISOString(),
    };
  }
}
