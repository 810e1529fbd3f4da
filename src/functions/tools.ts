// Attested functions that declare `sessionTool: true`, as broker tools: a session's
// callTool("generate-prompt", input) runs the same host path as POST /invoke (input and output
// validation, egress attributed to the function and checked against its policy, its secrets only).
import { z } from "zod";
import { defineTool, ToolCallError, type ToolDefinition } from "../runtime/index.ts";
import type { FunctionHost } from "./host.ts";

/** Functions reach upstream LLMs, so they get longer than the broker's default. */
export const FUNCTION_TOOL_TIMEOUT_MS = 60_000;

export function functionTools(host: FunctionHost): ToolDefinition[] {
  return host
    .list()
    .filter((f) => f.definition.sessionTool === true)
    .map(({ definition }) =>
      defineTool({
        name: definition.name,
        description: definition.description,
        // The host validates (once) and names the offending field; the broker passes through.
        input: z.unknown(),
        output: z.unknown(),
        timeoutMs: FUNCTION_TOOL_TIMEOUT_MS,
        handler: async (args) => {
          const outcome = await host.invoke(definition.name, args, { mode: "session" });
          if (outcome.ok) return outcome.output;
          const detail = `: ${outcome.error.message ?? outcome.error.error}`;
          if (outcome.kind === "invalid_input")
            throw new ToolCallError(
              `invalid arguments for ${definition.name}${detail}`,
              "invalid_args",
            );
          throw new ToolCallError(
            `${definition.name} failed (${outcome.error.error})${detail}`,
            "tool_failed",
          );
        },
      }),
    );
}
