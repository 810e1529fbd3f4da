// The Worker baseline for bench/runtime.ts: runs a script as a plain async function inside a
// Bun Worker (no sandbox at all), with callTool round-tripping to the main thread as our pool
// does. It measures what threads and messages cost, without QuickJS.
declare const self: Worker;

const pending = new Map<number, (value: unknown) => void>();
let nextCall = 0;
const AsyncFunction = (async () => {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<unknown>;

self.onmessage = async (
  event: MessageEvent<
    { type: "run"; id: number; code: string } | { type: "result"; call: number; value: unknown }
  >,
) => {
  const message = event.data;
  if (message.type === "result") {
    pending.get(message.call)?.(message.value);
    pending.delete(message.call);
    return;
  }
  const callTool = (name: string, args: unknown) =>
    new Promise((resolve) => {
      const call = ++nextCall;
      pending.set(call, resolve);
      self.postMessage({ type: "tool", call, name, args });
    });
  const value = await new AsyncFunction("callTool", message.code)(callTool);
  self.postMessage({ type: "done", id: message.id, value });
};
