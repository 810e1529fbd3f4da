// Run limits: each has a default and a failure code a caller can act on.
import { z } from "zod";

export const LimitsSchema = z
  .object({
    timeoutMs: z.number().int().min(1).max(3_600_000),
    cpuMs: z.number().int().min(1).max(600_000),
    memoryBytes: z
      .number()
      .int()
      .min(1024 * 1024)
      .max(1024 * 1024 * 1024),
    maxToolCalls: z.number().int().min(0).max(100_000),
    maxStdoutBytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024),
    maxOutputBytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024),
    maxConcurrentToolCalls: z.number().int().min(1).max(1_000),
  })
  .strict();

export type Limits = z.infer<typeof LimitsSchema>;

export const DEFAULT_LIMITS: Limits = {
  timeoutMs: 30_000,
  cpuMs: 5_000,
  memoryBytes: 32 * 1024 * 1024,
  maxToolCalls: 100,
  maxStdoutBytes: 64 * 1024,
  maxOutputBytes: 1024 * 1024,
  maxConcurrentToolCalls: 8,
};
