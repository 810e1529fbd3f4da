// GET /dashboard/data: what the operator's dashboard shows, as one snapshot (zod, one definition
// for the route, the page's types and the API description). Metadata only: counts, latencies,
// codes, states, limits, hosts; never a body, transcript, prompt, tool value or secret.
import { z } from "zod";
import type { Metrics } from "./registry.ts";

/** The dashboard's "last minutes" window. */
export const WINDOW_MS = 5 * 60_000;

const Tally = z
  .object({
    calls: z.number().int(),
    errors: z.number().int(),
    errorRate: z.number(),
    p50Ms: z.number().nullable(),
    p95Ms: z.number().nullable(),
    providers: z.record(z.string(), z.number().int()),
    modes: z.record(z.string(), z.number().int()),
  })
  .strict();

export const DashboardSnapshotSchema = z
  .object({
    generatedAt: z.string(),
    uptimeSeconds: z.number(),
    windowMinutes: z.number(),
    attestation: z
      .object({
        attested: z.boolean(),
        provider: z.string(),
        kid: z.string(),
        binarySha256: z.string().nullable(),
      })
      .strict(),
    functions: z.array(z.object({ fn: z.string(), window: Tally, sinceStart: Tally }).strict()),
    /** All functions together per 10-second bucket, oldest first. */
    series: z.array(
      z
        .object({
          t: z.number(),
          calls: z.number().int(),
          errors: z.number().int(),
          p95Ms: z.number().nullable(),
        })
        .strict(),
    ),
    egressHosts: z.array(
      z
        .object({
          host: z.string(),
          allowed: z.number().int(),
          blocked: z.number().int(),
          sentBytes: z.number().int(),
          receivedBytes: z.number().int(),
        })
        .strict(),
    ),
    sessions: z
      .object({
        byState: z.record(z.string(), z.number().int()),
        started: z.number().int(),
        endedByOutcome: z.record(z.string(), z.number().int()),
        live: z.array(
          z
            .object({
              idPrefix: z.string(),
              state: z.string(),
              encrypted: z.boolean(),
              startedAt: z.string(),
              expiresAt: z.string(),
              limits: z
                .object({
                  cpuMs: z.number(),
                  timeoutMs: z.number(),
                  memoryBytes: z.number(),
                  maxToolCalls: z.number(),
                })
                .strict(),
              toolCalls: z.number().int(),
            })
            .strict(),
        ),
      })
      .strict(),
    /** Every error answer since start, by code: refusals (rate_limited, memory_budget, …) and failures. */
    errors: z.array(
      z.object({ code: z.string(), status: z.number().int(), count: z.number().int() }).strict(),
    ),
    memoryBudget: z
      .object({ usedBytes: z.number(), budgetBytes: z.number(), admitting: z.boolean() })
      .strict(),
    store: z
      .object({
        kind: z.string(),
        host: z.string().nullable(),
        up: z.boolean().nullable(),
        detail: z.string(),
      })
      .strict(),
  })
  .strict();
export type DashboardSnapshot = z.infer<typeof DashboardSnapshotSchema>;

export interface DashboardSources {
  metrics: Metrics;
  startedAt: number;
  attestation: () => DashboardSnapshot["attestation"];
  sessions: {
    countByState(): Record<string, number>;
    liveSessions(max: number): DashboardSnapshot["sessions"]["live"];
  };
  budget?: { usedBytes: number; budgetBytes: number; admitting: boolean };
  store: () => DashboardSnapshot["store"];
}

/** At most this many live sessions are listed (the counts by state cover all). */
export const MAX_LISTED_SESSIONS = 100;

export function dashboardSnapshot(sources: DashboardSources, now = Date.now()): DashboardSnapshot {
  const { metrics, budget } = sources;
  return {
    generatedAt: new Date(now).toISOString(),
    uptimeSeconds: Math.round((now - sources.startedAt) / 1000),
    windowMinutes: WINDOW_MS / 60_000,
    attestation: sources.attestation(),
    functions: metrics.recent.byFunction(WINDOW_MS),
    series: metrics.recent.series(),
    egressHosts: [...metrics.egressHosts].map(([host, h]) => ({ host, ...h })),
    sessions: {
      byState: sources.sessions.countByState(),
      started: metrics.sessionsStartedCount,
      endedByOutcome: Object.fromEntries(metrics.sessionOutcomes),
      live: sources.sessions.liveSessions(MAX_LISTED_SESSIONS),
    },
    errors: [...metrics.errorCounts].map(([code, e]) => ({
      code,
      status: e.status,
      count: e.count,
    })),
    memoryBudget: budget
      ? {
          usedBytes: budget.usedBytes,
          budgetBytes: budget.budgetBytes,
          admitting: budget.admitting,
        }
      : { usedBytes: 0, budgetBytes: 0, admitting: true },
    store: sources.store(),
  };
}
