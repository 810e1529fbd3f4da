// A runtime worker: runs AgentScript off the server's event loop, so a CPU-bound script never
// stalls HTTP. Tool calls go back to the main thread, where the broker and its secrets live.
import { runAgentScript, ToolCallError } from "./index.ts";
import type { ToMain, ToWorker } from "./worker-protocol.ts";

declare const self: Worker;

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

const jobs = new Map<number, { abort: AbortController; calls: Map<number, PendingCall> }>();
let nextCall = 0;
const post = (message: ToMain) => self.postMessage(message);

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "run": {
      const job = { abort: new AbortController(), calls: new Map<number, PendingCall>() };
      jobs.set(message.jobId, job);
      void runAgentScript(message.code, {
        limits: message.limits,
        signal: job.abort.signal,
        onEvent: (runEvent) => post({ type: "event", jobId: message.jobId, event: runEvent }),
        toolHandler: (name, args, callId, { byRef }) =>
          new Promise((resolve, reject) => {
            const callNo = ++nextCall;
            job.calls.set(callNo, { resolve, reject });
            post({ type: "tool", jobId: message.jobId, callNo, callId, byRef, name, args });
          }),
      }).then((result) => {
        jobs.delete(message.jobId);
        post({ type: "done", jobId: message.jobId, result });
      });
      break;
    }
    case "tool_result": {
      const calls = jobs.get(message.jobId)?.calls;
      const call = calls?.get(message.callNo);
      if (!call) return; // the run already ended
      calls!.delete(message.callNo);
      if (message.ok) call.resolve(message.value);
      else call.reject(new ToolCallError(message.message, "tool_failed"));
      break;
    }
    case "cancel":
      jobs.get(message.jobId)?.abort.abort();
      break;
  }
};
