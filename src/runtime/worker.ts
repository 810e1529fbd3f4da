// A runtime worker: runs AgentScript off the server's event loop, so a CPU-bound script never
// stalls HTTP. It is a RunGuest over the worker's message port; tool calls go back to the main
// thread, where the broker and its secrets live. Its first message (WorkerInit) gives it the
// shared memory through which the pool watches its slices and the memory budget its sandboxes
// count against.
import { runAgentScript } from "./run.ts";
import { budgetView } from "./memory-budget.ts";
import type { WorkerInit } from "./pool.ts";
import { PoolMonitor } from "./pool-monitor.ts";
import type { GuestMessage } from "./protocol.ts";
import { RunGuest } from "./run-guest.ts";
import { configureSandboxMemory } from "./sandbox-memory.ts";

declare const self: Worker;

let deliver: (message: unknown) => void = () => {};

self.onmessage = (event: MessageEvent<WorkerInit>) => {
  const init = event.data;
  const monitor = new PoolMonitor(init.workers, init.monitor);
  if (init.budget) configureSandboxMemory(budgetView(init.budget, init.slot));
  let runsReceived = 0;
  new RunGuest(
    {
      send: (message: GuestMessage) => self.postMessage(message),
      onMessage: (handler) => void (deliver = handler),
      onClose: () => {}, // the pool terminates the worker; nothing outlives it
    },
    {
      validate: false,
      // A run the pool took back before it entered QuickJS here is not run (it went elsewhere)
      // and is not reported: the pool answers it from the other worker.
      runner: async (code, options) => {
        const runNo = ++runsReceived;
        let takenBack = false;
        const hooks = {
          ...monitor.hooks(init.slot, runNo),
          claim: () => !(takenBack = !monitor.claim(init.slot, runNo)),
        };
        const result = await runAgentScript(code, { ...options, hooks });
        return takenBack ? null : result;
      },
    },
  );
  self.onmessage = (next: MessageEvent) => deliver(next.data);
};
