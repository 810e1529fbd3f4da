// What the pool's main thread can see of its workers while they are busy, through one
// SharedArrayBuffer (a worker in a long slice cannot answer messages): which run each worker is
// executing, since when and until when it may, and a cancel flag the worker's interrupt
// handler reads during the slice. Runs are numbered per worker in the order their `run`
// messages were sent, which both sides count the same way (postMessage keeps order).
import type { SandboxHooks } from "./sandbox.ts";

/** Int32 slots per worker: run in slice (0: none), run to cancel. */
const INTS = 2;
/** Float64 slots per worker: slice start, slice deadline (epoch ms). */
const FLOATS = 2;

export class PoolMonitor {
  readonly shared: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;

  constructor(workers: number, shared?: SharedArrayBuffer) {
    this.shared = shared ?? new SharedArrayBuffer(workers * (FLOATS * 8 + INTS * 4));
    this.floats = new Float64Array(this.shared, 0, workers * FLOATS);
    this.ints = new Int32Array(this.shared, workers * FLOATS * 8, workers * INTS);
  }

  /** For how long worker `slot` has been in its current slice, or 0. */
  busyFor(slot: number, now = Date.now()): number {
    return Atomics.load(this.ints, slot * INTS) === 0 ? 0 : now - this.floats[slot * FLOATS]!;
  }

  /** Is worker `slot` still in a slice that should have ended (the sandbox failed to stop it)? */
  wedged(slot: number, now = Date.now()): boolean {
    return Atomics.load(this.ints, slot * INTS) !== 0 && now > this.floats[slot * FLOATS + 1]!;
  }

  /** The run worker `slot` is executing right now (0: none). */
  runInSlice(slot: number): number {
    return Atomics.load(this.ints, slot * INTS);
  }

  requestCancel(slot: number, runNo: number): void {
    Atomics.store(this.ints, slot * INTS + 1, runNo);
  }

  /** A worker's slot is free again. */
  reset(slot: number): void {
    Atomics.store(this.ints, slot * INTS, 0);
    Atomics.store(this.ints, slot * INTS + 1, 0);
  }

  /** The hooks a worker gives run `runNo`. */
  hooks(slot: number, runNo: number): SandboxHooks {
    return {
      sliceStarted: (deadline) => {
        this.floats[slot * FLOATS] = Date.now();
        this.floats[slot * FLOATS + 1] = deadline;
        Atomics.store(this.ints, slot * INTS, runNo);
      },
      sliceEnded: () => Atomics.store(this.ints, slot * INTS, 0),
      cancelRequested: () => Atomics.load(this.ints, slot * INTS + 1) === runNo,
    };
  }
}
