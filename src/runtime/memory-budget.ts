// The server-wide memory budget over what sessions can make the process hold: the WebAssembly
// memory of every sandbox thread (which only ever grows, so it is what the sandboxes really
// cost) plus the bytes kept in reference sidecars. Per-session limits bound one session; this
// bounds their sum. It lives in a SharedArrayBuffer so that every worker can refuse a growth
// on the spot, from inside the allocation (sandbox-memory.ts), without a round trip: each
// thread writes only its own slot, and reads the others'.
import type { BudgetView } from "./sandbox-memory.ts";

/** Slot layout (Float64): 0 = budget, 1 = sidecar bytes, 2.. = each thread's sandbox memory. */
const BUDGET = 0;
const SIDECARS = 1;
const FIRST_THREAD = 2;

/** New sessions are refused (503) once this share of the budget is in use. */
export const ADMISSION_SHARE = 0.9;

export class MemoryBudgetError extends Error {
  override name = "MemoryBudgetError";
}

export class MemoryBudget {
  readonly shared: SharedArrayBuffer;
  private readonly slots: Float64Array;

  /** `threads` is how many sandbox threads (slots) there can be at once. */
  constructor(
    budgetBytes: number,
    readonly threads: number,
  ) {
    this.shared = new SharedArrayBuffer((FIRST_THREAD + threads) * 8);
    this.slots = new Float64Array(this.shared);
    this.slots[BUDGET] = budgetBytes;
  }

  get budgetBytes(): number {
    return this.slots[BUDGET]!;
  }

  get sidecarBytes(): number {
    return this.slots[SIDECARS]!;
  }

  /** Everything in use now. */
  get usedBytes(): number {
    return used(this.slots, -1, 0);
  }

  /** May a new session start? */
  get admitting(): boolean {
    return this.usedBytes < this.budgetBytes * ADMISSION_SHARE;
  }

  /** Reserves sidecar bytes; throws MemoryBudgetError when they would not fit. */
  chargeSidecar(bytes: number): void {
    if (this.usedBytes + bytes > this.budgetBytes) {
      throw new MemoryBudgetError(
        `the server's memory budget (${this.budgetBytes} bytes) cannot hold ${bytes} more bytes`,
      );
    }
    this.slots[SIDECARS] = this.sidecarBytes + bytes;
  }

  releaseSidecar(bytes: number): void {
    this.slots[SIDECARS] = Math.max(0, this.sidecarBytes - bytes);
  }

  /** A thread's slot is free again (its worker ended). */
  clearThread(slot: number): void {
    this.slots[FIRST_THREAD + slot] = 0;
  }

  threadBytes(slot: number): number {
    return this.slots[FIRST_THREAD + slot]!;
  }
}

/** A sandbox thread's view of the budget (made in the worker from the shared buffer). */
export function budgetView(shared: SharedArrayBuffer, slot: number): BudgetView {
  const slots = new Float64Array(shared);
  return {
    allows: (bytes) => used(slots, slot, bytes) <= slots[BUDGET]!,
    report: (bytes) => void (slots[FIRST_THREAD + slot] = bytes),
  };
}

/** Sidecars plus every thread's memory, with thread `slot` counted as `bytes` instead. */
function used(slots: Float64Array, slot: number, bytes: number): number {
  let total = slots[SIDECARS]!;
  for (let i = FIRST_THREAD; i < slots.length; i++)
    total += i === FIRST_THREAD + slot ? bytes : slots[i]!;
  return total;
}
