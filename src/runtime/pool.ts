// Runs AgentScript in a pool of worker threads with the contract of runAgentScript, so a
// CPU-bound script delays at most the runs sharing its thread, never the HTTP server. The main
// thread keeps the tool broker: workers hold no secrets and no host objects.
import { ToolCallError, type RunOptions, type RunResult } from "./index.ts";
import type { ToMain, ToWorker } from "./worker-protocol.ts";

// A compiled binary embeds the worker (scripts/build.ts passes it as an entrypoint) under its
// path relative to src/; from source it is the file beside this one.
const WORKER_ENTRY = Bun.main.startsWith("/$bunfs/") ? "./runtime/worker.ts" : new URL("./worker.ts", import.meta.url).href;

interface Job {
  options: RunOptions;
  resolve: (result: RunResult) => void;
  worker: Worker;
  started: number;
}

export class RuntimePool {
  private readonly workers: Worker[];
  private readonly load = new Map<Worker, number>();
  private readonly jobs = new Map<number, Job>();
  private nextJob = 0;

  constructor(size: number) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      const worker = new Worker(WORKER_ENTRY);
      worker.onmessage = (event: MessageEvent<ToMain>) => this.onMessage(worker, event.data);
      worker.onerror = (event) => this.failWorkerJobs(worker, event.message);
      this.load.set(worker, 0);
      return worker;
    });
  }

  run(code: string, options: RunOptions = {}): Promise<RunResult> {
    const worker = this.workers.reduce((a, b) => (this.load.get(b)! < this.load.get(a)! ? b : a));
    const jobId = ++this.nextJob;
    this.load.set(worker, this.load.get(worker)! + 1);
    return new Promise<RunResult>((resolve) => {
      this.jobs.set(jobId, { options, resolve, worker, started: performance.now() });
      const cancel = () => worker.postMessage({ type: "cancel", jobId } satisfies ToWorker);
      if (options.signal?.aborted) cancel();
      options.signal?.addEventListener("abort", cancel, { once: true });
      worker.postMessage({ type: "run", jobId, code, limits: options.limits ?? {} } satisfies ToWorker);
    });
  }

  terminate(): void {
    for (const worker of this.workers) worker.terminate();
  }

  private onMessage(worker: Worker, message: ToMain) {
    const job = this.jobs.get(message.jobId);
    if (!job) return;
    switch (message.type) {
      case "event":
        job.options.onEvent?.(message.event);
        break;
      case "tool": {
        const { tools, toolHandler, signal } = job.options;
        const call = tools
          ? tools.call(message.name, message.args, signal)
          : toolHandler
            ? toolHandler(message.name, message.args, message.callId, { byRef: message.byRef })
            : Promise.reject(new ToolCallError(`unknown tool "${message.name}"`, "unknown_tool"));
        const reply = (result: { ok: true; value: unknown } | { ok: false; message: string }) =>
          worker.postMessage({ type: "tool_result", jobId: message.jobId, callNo: message.callNo, ...result } satisfies ToWorker);
        call.then(
          (value) => reply({ ok: true, value }),
          (error) => reply({ ok: false, message: error instanceof ToolCallError ? error.message : `${message.name} failed` }),
        );
        break;
      }
      case "done":
        this.finish(message.jobId, message.result);
        break;
    }
  }

  private finish(jobId: number, result: RunResult) {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.jobs.delete(jobId);
    this.load.set(job.worker, this.load.get(job.worker)! - 1);
    job.resolve(result);
  }

  /** A worker that crashed takes its runs with it: each ends with a clear error, none hangs. */
  private failWorkerJobs(worker: Worker, reason: string) {
    for (const [jobId, job] of this.jobs) {
      if (job.worker !== worker) continue;
      const durationMs = performance.now() - job.started;
      this.finish(jobId, { ok: false, error: { code: "script_error", message: `the runtime worker failed: ${reason}` }, stats: { durationMs, toolCallCount: 0, stdoutBytes: 0, sandboxBytesIn: 0 } });
    }
  }
}
