// Runs AgentScript in worker threads with the contract of runAgentScript, so a CPU-bound script
// never stalls the HTTP server. Each worker is a RunGuest; the pool is a transport for RunHost.
// The main thread keeps the tool broker: workers hold no secrets and no host objects.
//
// Scheduling: QuickJS cannot be preempted, so a run in a long slice holds its thread. New runs
// go to the least loaded worker that is not busy (the pool sees busy workers through shared
// memory, pool-monitor.ts); when every worker is busy and the pool is below its maximum (and
// the memory budget has room), it starts another, and the OS shares the cores between them. A
// run sent to a worker that turned busy before starting it is taken back and sent to another
// (the claim cells of pool-monitor.ts decide the race), so a session's CPU never delays another
// session's start. Workers beyond the minimum retire when idle, which also hands their
// WebAssembly memory back to the system.
//
// Cancelling: a worker in a slice reads one shared cell naming the run to stop. Several runs of
// one worker may be cancelled at once (a shutdown cancels them all), so the pool keeps each
// worker's cancelled runs and points the cell at whichever of them is in its slice, at once and
// again at every watch tick: a run cancelled while it waits its turn is stopped the moment its
// slice begins, and one cancel never overwrites another.
//
// Deadlines: every run is bounded inside its worker (sandbox.ts); should a worker still be in a
// slice past its run's deadline, the sandbox failed to stop it, and the pool terminates and
// replaces that worker (its other runs end with runtime_lost, never hang).
import type { RunResult, HostMessage } from "./protocol.ts";
import type { RunOptions } from "./run.ts";
import type { MemoryBudget } from "./memory-budget.ts";
import { PoolMonitor } from "./pool-monitor.ts";
import { failedRun, RunHost } from "./run-host.ts";

// A compiled binary embeds the worker (scripts/build.ts passes it as an entrypoint) under its
// path relative to src/; from source it is the file beside this one.
const DEFAULT_WORKER_ENTRY = Bun.main.startsWith("/$bunfs/")
  ? "./runtime/worker.ts"
  : new URL("./worker.ts", import.meta.url).href;

/** A worker whose current slice has lasted this long is busy: new runs go elsewhere. */
export const BUSY_AFTER_MS = 20;
/** While runs are in flight the pool looks this often for every worker being busy. */
const WATCH_MS = 25;
/** Workers beyond the minimum end after this long without runs. */
export const IDLE_RETIRE_MS = 10_000;
/**
 * An idle worker whose WebAssembly memory grew past this is replaced at once: that memory
 * never shrinks, and only a fresh worker gives it back to the system (and to the budget).
 */
export const RECYCLE_ABOVE_BYTES = 64 * 1024 * 1024;
/** What a fresh worker is assumed to cost the memory budget before it reports (QuickJS's 16 MiB). */
const WORKER_BASE_BYTES = 16 * 1024 * 1024;

export interface PoolOptions {
  /** Workers kept even when idle (started on first use, or by warm()). */
  minWorkers: number;
  /** Workers at most, busy ones included. */
  maxWorkers: number;
  /** The server-wide budget the workers' sandbox memory counts against. */
  budget?: MemoryBudget;
  /** The worker script (tests substitute a misbehaving one). */
  workerEntry?: string;
}

/** What the first message to a worker carries. */
export interface WorkerInit {
  type: "init";
  slot: number;
  monitor: SharedArrayBuffer;
  workers: number;
  budget?: SharedArrayBuffer;
}

interface PoolWorker {
  slot: number;
  worker: Worker;
  host: RunHost;
  /** Tells the host the transport is gone (its runs end with runtime_lost). */
  close: (reason: string) => void;
  /** Runs sent so far (the run numbers the monitor uses). */
  runsSent: number;
  /** Runs of this worker cancelled and not yet ended. */
  cancelled: Set<number>;
  /** Runs sent here that the worker may not have started yet (they may still be taken back). */
  queued: Map<number, Job>;
  retire?: ReturnType<typeof setTimeout>;
}

/** One run through the pool, wherever it is sent (a taken-back run moves to another worker). */
interface Job {
  code: string;
  options: RunOptions;
  sessionId: string;
  started: number;
  resolve: (result: RunResult) => void;
  cancelled: boolean;
  worker?: PoolWorker;
  runNo: number;
}

export class RuntimePool {
  private readonly workers: PoolWorker[] = [];
  private readonly monitor: PoolMonitor;
  private readonly freeSlots: number[];
  private readonly entry: string;
  private nextRun = 0;
  private inFlight = 0;
  private watch: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    this.monitor = new PoolMonitor(options.maxWorkers);
    this.freeSlots = Array.from(
      { length: options.maxWorkers },
      (_, i) => options.maxWorkers - 1 - i,
    );
    this.entry = options.workerEntry ?? DEFAULT_WORKER_ENTRY;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Starts the minimum of workers ahead of the first run (off the start-up path). */
  warm(): void {
    while (!this.closed && this.workers.length < this.options.minWorkers) this.spawn();
  }

  run(code: string, options: RunOptions = {}): Promise<RunResult> {
    const started = performance.now();
    if (this.closed)
      return Promise.resolve(
        failedRun("runtime_unavailable", "the runtime pool is shut down", started),
      );
    const sessionId = options.sessionId ?? `run_${++this.nextRun}`;
    return new Promise<RunResult>((resolve) => {
      const job: Job = { code, options, sessionId, started, resolve, cancelled: false, runNo: 0 };
      const cancel = () => {
        job.cancelled = true;
        if (!job.worker) return;
        job.worker.cancelled.add(job.runNo);
        this.pointCancel(job.worker);
      };
      if (options.signal?.aborted) job.cancelled = true;
      else options.signal?.addEventListener("abort", cancel, { once: true });
      this.track(+1);
      job.resolve = (result) => {
        options.signal?.removeEventListener("abort", cancel);
        this.track(-1);
        resolve(result);
      };
      this.dispatch(job);
    });
  }

  /** Sends `job` to the best worker now; its result resolves it unless it was taken back. */
  private dispatch(job: Job, moving = false): void {
    const target = this.pick(moving);
    if (!target)
      return job.resolve(
        failedRun(
          "memory_budget",
          "the server's memory budget has no room for another runtime worker; retry later",
          job.started,
        ),
      );
    clearTimeout(target.retire);
    const runNo = ++target.runsSent;
    job.worker = target;
    job.runNo = runNo;
    this.monitor.queue(target.slot, runNo);
    target.queued.set(runNo, job);
    if (job.cancelled) {
      target.cancelled.add(runNo);
      this.pointCancel(target);
    }
    void target.host.run(job.code, { ...job.options, sessionId: job.sessionId }).then((result) => {
      target.queued.delete(runNo);
      target.cancelled.delete(runNo);
      job.resolve(result);
      this.scheduleRetire(target);
    });
  }

  /**
   * Runs waiting on a worker that turned busy are taken back, if it has not started them, and
   * sent to a calm one: otherwise they would wait for that slice to end.
   */
  private redistribute(now: number): void {
    for (const w of this.workers) {
      if (w.queued.size === 0 || this.monitor.busyFor(w.slot, now) < BUSY_AFTER_MS) continue;
      // Moving is only worth it to a calm worker, or a new one: never from busy to busy.
      const elsewhere =
        this.workers.some((o) => this.monitor.busyFor(o.slot, now) < BUSY_AFTER_MS) ||
        (this.workers.length < this.options.maxWorkers && this.roomForWorker());
      if (!elsewhere) return;
      for (const [runNo, job] of w.queued) {
        w.queued.delete(runNo);
        if (!this.monitor.revoke(w.slot, runNo)) continue; // started: that worker's now
        w.cancelled.delete(runNo);
        w.host.abandon(job.sessionId);
        this.dispatch(job, true);
      }
    }
  }

  /**
   * While runs are in flight, keep one calm worker ready: when every worker is in a long slice,
   * start another now, so the next session does not wait for a worker to boot on busy cores.
   */
  private track(delta: number): void {
    this.inFlight += delta;
    if (this.inFlight > 0 && !this.watch) {
      this.watch = setInterval(() => {
        for (const w of this.workers) if (w.cancelled.size > 0) this.pointCancel(w);
        const now = Date.now();
        this.redistribute(now);
        const allBusy = this.workers.every(
          (w) => this.monitor.busyFor(w.slot, now) >= BUSY_AFTER_MS,
        );
        if (allBusy && this.workers.length < this.options.maxWorkers && this.roomForWorker())
          this.spawn();
      }, WATCH_MS);
      this.watch.unref?.();
    } else if (this.inFlight === 0 && this.watch) {
      clearInterval(this.watch);
      this.watch = undefined;
    }
  }

  /** Points worker `w`'s shared cancel cell at its run in slice, if that run is cancelled. */
  private pointCancel(w: PoolWorker): void {
    const inSlice = this.monitor.runInSlice(w.slot);
    if (inSlice !== 0 && w.cancelled.has(inSlice)) this.monitor.requestCancel(w.slot, inSlice);
  }

  terminate(): void {
    this.closed = true;
    clearInterval(this.watch);
    for (const w of [...this.workers]) this.remove(w, "the runtime pool is shutting down");
  }

  /**
   * The worker for a run: the least loaded calm one (or a new one below the minimum). A run
   * being moved off a busy worker (`moving`) takes only an empty calm worker, else a new one:
   * the calm workers with runs may have just been given the busy one's other runs.
   */
  private pick(moving = false): PoolWorker | undefined {
    const now = Date.now();
    let calm: PoolWorker | undefined;
    let any: PoolWorker | undefined;
    for (const w of this.workers) {
      if (!any || w.host.load < any.host.load) any = w;
      if (
        this.monitor.busyFor(w.slot, now) < BUSY_AFTER_MS &&
        (!calm || w.host.load < calm.host.load)
      )
        calm = w;
    }
    if (
      calm &&
      (calm.host.load === 0 || (!moving && this.workers.length >= this.options.minWorkers))
    )
      return calm;
    if (this.workers.length < this.options.maxWorkers && this.roomForWorker()) return this.spawn();
    return calm ?? any;
  }

  private roomForWorker(): boolean {
    const { budget } = this.options;
    return !budget || budget.usedBytes + WORKER_BASE_BYTES <= budget.budgetBytes;
  }

  private spawn(): PoolWorker {
    const slot = this.freeSlots.pop()!;
    const worker = new Worker(this.entry);
    const { budget } = this.options;
    const init: WorkerInit = {
      type: "init",
      slot,
      monitor: this.monitor.shared,
      workers: this.options.maxWorkers,
      ...(budget ? { budget: budget.shared } : {}),
    };
    worker.postMessage(init);
    let onMessage: (message: unknown) => void = () => {};
    let onClose: (reason: string) => void = () => {};
    worker.onmessage = (event: MessageEvent) => onMessage(event.data);
    const port = {
      send: (message: HostMessage) => worker.postMessage(message),
      onMessage: (handler: typeof onMessage) => void (onMessage = handler),
      onClose: (handler: typeof onClose) => void (onClose = handler),
    };
    const entry: PoolWorker = {
      slot,
      worker,
      close: (reason) => onClose(reason),
      runsSent: 0,
      cancelled: new Set(),
      queued: new Map(),
      host: new RunHost(port, {
        validate: false,
        onOverdue: () => {
          if (this.monitor.wedged(slot))
            this.remove(
              entry,
              "a run kept its worker busy past its deadline; the worker was replaced",
            );
        },
      }),
    };
    worker.onerror = (event) => this.remove(entry, `the runtime worker failed: ${event.message}`);
    this.workers.push(entry);
    return entry;
  }

  private scheduleRetire(w: PoolWorker): void {
    if (w.host.load > 0 || this.closed) return;
    clearTimeout(w.retire);
    if ((this.options.budget?.threadBytes(w.slot) ?? 0) > RECYCLE_ABOVE_BYTES) {
      this.remove(w, "recycled to release its memory");
      return this.warm();
    }
    w.retire = setTimeout(() => {
      if (w.host.load === 0 && this.workers.length > this.options.minWorkers)
        this.remove(w, "idle");
    }, IDLE_RETIRE_MS);
    w.retire.unref?.();
  }

  private remove(w: PoolWorker, reason: string): void {
    const at = this.workers.indexOf(w);
    if (at === -1) return;
    this.workers.splice(at, 1);
    clearTimeout(w.retire);
    w.worker.terminate();
    w.close(reason);
    this.monitor.reset(w.slot);
    this.options.budget?.clearThread(w.slot);
    this.freeSlots.push(w.slot);
  }
}
