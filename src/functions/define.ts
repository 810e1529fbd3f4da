// The contract of an attested function module (DESIGN "Functions and egress").
import { z } from "zod";
import type { Logger } from "../log.ts";
import type { StateView } from "../store/index.ts";

/** An upstream a function may reach. The operator may point it elsewhere with `overrideEnv`. */
export interface EgressDeclaration {
  name: string;
  url: string;
  purpose: string;
  overrideEnv?: string;
  /**
   * The function uses this upstream only when one of these settings (secret or override names)
   * is set; without any, nothing is sent there. Absent: always in use. The report states which
   * upstreams are enabled right now.
   */
  enabledWhen?: string[];
}

export interface FunctionContext {
  /** The audited fetch (the same as the global one; calls are attributed to this function). */
  fetch: typeof fetch;
  /** Only the secrets the manifest names; undefined when not configured. */
  secrets: Readonly<Record<string, string | undefined>>;
  /** Effective base URL of each declared upstream, operator overrides applied. */
  upstreams: Readonly<Record<string, string>>;
  /** Sealed state, scoped to the function's app. */
  state: StateView;
  /** How long idle per-session state lives. */
  stateIdleTtlMs: number;
  log: Logger;
}

/** The statuses a handler may choose besides 200. */
export const FUNCTION_FAILURE_STATUSES = [400, 409, 422, 429, 500, 502, 503, 504] as const;

/** A failure's body: an `error` code, usually a `message`, more fields as the function says. */
export const FunctionErrorSchema = z.looseObject({
  error: z.string(),
  message: z.string().optional(),
});

/** A non-2xx reply the handler chooses (e.g. 500 when every provider failed). */
export class FunctionFailure {
  constructor(
    readonly status: (typeof FUNCTION_FAILURE_STATUSES)[number],
    readonly body: z.input<typeof FunctionErrorSchema>,
  ) {}
}

export interface FunctionDefinition<
  I extends z.ZodType = z.ZodType,
  O extends z.ZodType = z.ZodType,
> {
  name: string;
  app: string;
  description: string;
  input: I;
  output: O;
  egress: EgressDeclaration[];
  secrets: string[];
  /**
   * Also callable from AgentScript sessions as `callTool(name, input)`, under the same schemas,
   * egress policy and secrets (the report says so).
   */
  sessionTool?: boolean;
  handler(input: z.output<I>, ctx: FunctionContext): Promise<z.input<O> | FunctionFailure>;
}

export function defineFunction<I extends z.ZodType, O extends z.ZodType>(
  definition: FunctionDefinition<I, O>,
): FunctionDefinition<I, O> {
  return definition;
}

/** A function as the host sees it: its definition and the source text it was built from. */
export interface RegisteredFunction {
  definition: FunctionDefinition;
  /** Source files (path relative to functions/ → text), embedded at build time. */
  sources: Record<string, string>;
}
