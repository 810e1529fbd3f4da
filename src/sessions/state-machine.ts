// The session lifecycle (DESIGN "Sessions"): starting → running ⇄ waiting_for_tool →
// completed | cancelled | failed. The state changes only through `apply`, which consults the
// one transition table below, so an illegal transition cannot happen silently: it throws.

import type { SessionState } from "../../sdk/wire/sessions.ts";

export type { SessionState };
export type SessionTransition =
  | "start"
  | "tool_called"
  | "tools_settled"
  | "complete"
  | "cancel"
  | "fail";

export const TERMINAL_STATES: ReadonlySet<SessionState> = new Set([
  "completed",
  "cancelled",
  "failed",
]);

const TRANSITIONS: Record<SessionState, Partial<Record<SessionTransition, SessionState>>> = {
  starting: { start: "running", cancel: "cancelled", fail: "failed" },
  running: {
    tool_called: "waiting_for_tool",
    complete: "completed",
    cancel: "cancelled",
    fail: "failed",
  },
  waiting_for_tool: {
    tool_called: "waiting_for_tool",
    tools_settled: "running",
    cancel: "cancelled",
    fail: "failed",
  },
  completed: {},
  cancelled: {},
  failed: {},
};

export class IllegalTransitionError extends Error {
  override name = "IllegalTransitionError";
}

export class SessionStateMachine {
  private current: SessionState = "starting";
  private readonly listeners: Array<
    (from: SessionState, to: SessionState, via: SessionTransition) => void
  > = [];

  get state(): SessionState {
    return this.current;
  }

  get terminal(): boolean {
    return TERMINAL_STATES.has(this.current);
  }

  can(transition: SessionTransition): boolean {
    return TRANSITIONS[this.current][transition] !== undefined;
  }

  apply(transition: SessionTransition): SessionState {
    const next = TRANSITIONS[this.current][transition];
    if (next === undefined)
      throw new IllegalTransitionError(`cannot ${transition} a session that is ${this.current}`);
    const from = this.current;
    this.current = next;
    for (const listener of this.listeners) listener(from, next, transition);
    return next;
  }

  onChange(listener: (from: SessionState, to: SessionState, via: SessionTransition) => void): void {
    this.listeners.push(listener);
  }
}

/** Every (state, transition) pair and where it leads, for tests and documentation. */
export function transitionTable(): Array<{
  from: SessionState;
  via: SessionTransition;
  to: SessionState | null;
}> {
  const states = Object.keys(TRANSITIONS) as SessionState[];
  const vias: SessionTransition[] = [
    "start",
    "tool_called",
    "tools_settled",
    "complete",
    "cancel",
    "fail",
  ];
  return states.flatMap((from) =>
    vias.map((via) => ({ from, via, to: TRANSITIONS[from][via] ?? null })),
  );
}
