import { describe, expect, test } from "bun:test";
import {
  IllegalTransitionError,
  SessionStateMachine,
  transitionTable,
  type SessionState,
  type SessionTransition,
} from "../../src/sessions/state-machine.ts";

/** Drives a fresh machine into `state` through legal transitions only. */
function machineIn(state: SessionState): SessionStateMachine {
  const m = new SessionStateMachine();
  const paths: Record<SessionState, SessionTransition[]> = {
    starting: [],
    running: ["start"],
    waiting_for_tool: ["start", "tool_called"],
    completed: ["start", "complete"],
    cancelled: ["cancel"],
    failed: ["fail"],
  };
  for (const t of paths[state]) m.apply(t);
  expect(m.state).toBe(state);
  return m;
}

describe("session state machine", () => {
  test("the happy path: starting → running ⇄ waiting_for_tool → completed", () => {
    const m = new SessionStateMachine();
    const seen: string[] = [];
    m.onChange((from, to) => seen.push(`${from}→${to}`));
    m.apply("start");
    m.apply("tool_called");
    m.apply("tool_called"); // a second concurrent call keeps it waiting
    m.apply("tools_settled");
    m.apply("complete");
    expect(seen).toEqual([
      "starting→running",
      "running→waiting_for_tool",
      "waiting_for_tool→waiting_for_tool",
      "waiting_for_tool→running",
      "running→completed",
    ]);
    expect(m.terminal).toBe(true);
  });

  test("exactly the designed transitions are legal; every other pair throws and leaves the state alone", () => {
    const legal = new Set([
      "starting start running",
      "starting cancel cancelled",
      "starting fail failed",
      "running tool_called waiting_for_tool",
      "running complete completed",
      "running cancel cancelled",
      "running fail failed",
      "waiting_for_tool tool_called waiting_for_tool",
      "waiting_for_tool tools_settled running",
      "waiting_for_tool cancel cancelled",
      "waiting_for_tool fail failed",
    ]);
    for (const { from, via, to } of transitionTable()) {
      const m = machineIn(from);
      if (to === null) {
        expect(m.can(via)).toBe(false);
        expect(() => m.apply(via)).toThrow(IllegalTransitionError);
        expect(m.state).toBe(from);
      } else {
        expect(legal.has(`${from} ${via} ${to}`)).toBe(true);
        expect(m.apply(via)).toBe(to);
      }
    }
    expect(transitionTable().filter((t) => t.to !== null)).toHaveLength(legal.size);
  });

  test("terminal states accept nothing", () => {
    for (const state of ["completed", "cancelled", "failed"] as const) {
      const m = machineIn(state);
      for (const via of [
        "start",
        "tool_called",
        "tools_settled",
        "complete",
        "cancel",
        "fail",
      ] as const)
        expect(m.can(via)).toBe(false);
    }
  });
});
