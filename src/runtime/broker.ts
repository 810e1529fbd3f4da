// The tool broker: a registry of tools with zod-validated arguments and results (validated
// cooperatively, so a huge result never holds the main thread), per-tool timeouts and
// declared secrets. Whatever goes wrong inside a tool reaches the script only as a
// ToolCallError with a safe message (no host stack, no upstream content).
import type { z } from "zod";
import { parseCooperatively } from "./cooperative-parse.ts";

export interface ToolContext {
  secrets: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
}

export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  description?: string;
  input: I;
  output: O;
  timeoutMs?: number;
  /** Secret names this tool may read. */
  secrets?: string[];
  /** false: the result always stays in the session's sidecar; the sandbox holds only a reference it cannot read. */
  runtimeReadable?: boolean;
  /** Dotted paths (`*` for any element or key) of result fields that reach the sandbox only as references. */
  redact?: string[];
  /**
   * Argument paths (as in redact) where this tool accepts a non-readable reference; anywhere
   * else one is refused, so a tool that echoes its input cannot launder a secret to the script.
   */
  acceptsNonReadable?: string[];
  /**
   * The tool's result is readable even when non-readable values went in (a login tool that
   * turns a password into a session token). Without it, such a result is non-readable too.
   */
  declassifies?: boolean;
  handler(args: z.output<I>, ctx: ToolContext): Promise<z.input<O>>;
}

export function defineTool<I extends z.ZodType, O extends z.ZodType>(
  tool: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return tool;
}

export class ToolCallError extends Error {
  override name = "ToolError";
  constructor(
    message: string,
    readonly code:
      | "unknown_tool"
      | "invalid_args"
      | "invalid_result"
      | "tool_timeout"
      | "tool_failed",
  ) {
    super(message);
  }
}

export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();

  constructor(
    tools: ToolDefinition[] = [],
    private readonly secretSource: Record<string, string | undefined> = {},
  ) {
    for (const tool of tools) this.register(tool);
  }

  register(tool: ToolDefinition): this {
    if (this.tools.has(tool.name)) throw new Error(`tool ${tool.name} is registered twice`);
    this.tools.set(tool.name, tool);
    return this;
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  async call(name: string, args: unknown, signal?: AbortSignal): Promise<unknown> {
    const tool = this.tools.get(name);
    if (!tool) throw new ToolCallError(`unknown tool "${name}"`, "unknown_tool");
    const parsed = await parseCooperatively(tool.input, args);
    if (!parsed.success) {
      const detail = parsed.error.issues
        .map((i) => `${i.path.join(".") || "args"}: ${i.message}`)
        .join("; ");
      throw new ToolCallError(`invalid arguments for ${name}: ${detail}`, "invalid_args");
    }
    const timeoutMs = tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const secrets = Object.fromEntries((tool.secrets ?? []).map((s) => [s, this.secretSource[s]]));
    let result: unknown;
    let onAbort = () => {};
    try {
      result = await Promise.race([
        tool.handler(parsed.data, { secrets, signal: combined }),
        new Promise((_, reject) => {
          onAbort = () => reject(combined.reason);
          combined.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } catch (err) {
      if (timeout.aborted)
        throw new ToolCallError(`${name} timed out after ${timeoutMs} ms`, "tool_timeout");
      if (err instanceof ToolCallError) throw err;
      throw new ToolCallError(`${name} failed`, "tool_failed");
    } finally {
      // The timeout signal lives on until it fires; a listener left on it would keep the race,
      // and through it the tool's result, alive that long.
      combined.removeEventListener("abort", onAbort);
    }
    const output = await parseCooperatively(tool.output, result);
    if (!output.success)
      throw new ToolCallError(
        `${name} returned a result that does not match its schema`,
        "invalid_result",
      );
    return output.data;
  }
}
