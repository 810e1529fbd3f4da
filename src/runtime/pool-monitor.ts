// What the pool's main thread can see of its workers while they are busy, through one
// SharedArrayBuffer (a worker in a long slice cannot answer messages): which run each worker is
// executing, since when and until when it may, and a cancel flag the worker's interrupt
// handler reads during the slice, and a claim cell per queued run (below). Runs are numbered per
// worker in the order their `run` messages were sent, which both sides count the same way
// (postMessage keeps order).
//
// Claims: a run sent to a worker that turns busy before starting it would wait for that slice
// (QuickJS cannot be preempted). Its claim cell says whether the worker has started it; the pool
// may revoke a run not started yet and send it elsewhere. One compare-and-swap decides the race:
// the worker claims queued → started, the pool revokes queued → revoked, and only one wins.
import type { SandboxHooks } from "./sandbox.ts";

/** Int32 slots per worker: run in slice (0: none), run to cancel. */
const INTS = 2;
/** Float64 slots per worker: slice start, slice deadline (epoch ms). */
const FLOATS = 2;
/** Claim cells per worker, indexed by run number modulo this (see claim()). */
const CLAIMS = 256;
const QUEUED = 0;
const STARTED = 1;
const REVOKED = 2;
const cell = (runNo: number, state: number) => runNo * 4 + state;

export class PoolMonitor {
  readonly shared: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  private readonly claims: Int32Array;

  constructor(workers: number, shared?: SharedArrayBuffer) {
    this.shared = shared ?? new SharedArrayBuffer(workers * (FLOATS * 8 + INTS * 4 + CLAIMS * 4));
    this.floats = new Float64Array(this.shared, 0, workers * FLOATS);
    this.ints = new Int32Array(this.shared, workers * FLOATS * 8, workers * INTS);
    this.claims = new Int32Array(this.shared, workers * (FLOATS * 8 + INTS * 4), workers * CLAIMS);
  }

  /** The pool is about to send run `runNo` to worker `slot`. */
  queue(slot: number, runNo: number): void {
    Atomics.store(this.claims, slot * CLAIMS + (runNo % CLAIMS), cell(runNo, QUEUED));
  }

  /**
   * The worker is about to start run `runNo`: false when the pool revoked it (the worker must
   * not run it). A cell a later run has reused (more than CLAIMS queued) can no longer be
   * revoked, so it runs.
   */
  claim(slot: number, runNo: number): boolean {
    const at = slot * CLAIMS + (runNo % CLAIMS);
    return (
      Atomics.compareExchange(this.claims, at, cell(runNo, QUEUED), cell(runNo, STARTED)) !==
      cell(runNo, REVOKED)
    );
  }

  /** Takes back run `runNo` if worker `slot` has not started it; true when it was taken back. */
  revoke(slot: number, runNo: number): boolean {
    const at = slot * CLAIMS + (runNo % CLAIMS);
    return (
      Atomics.compareExchange(this.claims, at, cell(runNo, QUEUED), cell(runNo, REVOKED)) ===
      cell(runNo, QUEUED)
    );
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
    this.claims.fill(0, slot * CLAIMS, (slot + 1) * CLAIMS);
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
