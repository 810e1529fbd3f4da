// Rewrites validated AgentScript before it runs, by splicing the source at node offsets:
// - callTool calls the auto-ref pass proved pass-through call REF_CALL instead, so the broker
//   answers them with a reference;
// - operands of ==, !=, ===, !== and switch values go through REF_CHECK, which fails the run
//   when one is a reference (identity comparisons cannot be trapped by a Proxy).
// Both names use a prefix the validator reserves, so a script can neither call nor shadow them;
// runAgentScript binds them as parameters of the script's wrapper.
import type { ESTree } from "meriyah";
import { forEachNode } from "./ast.ts";
import { planAutoRef } from "./auto-ref.ts";
import { REF_CALL, REF_CHECK } from "./ref-prelude.ts";

type Ranged = ESTree.Node & { start?: number; end?: number };

interface Edit {
  start: number;
  end: number;
  text: string;
}

export interface Instrumented {
  source: string;
  /** How many callTool calls answer by reference. */
  refCalls: number;
}

export function instrument(source: string, program: ESTree.Program): Instrumented {
  const edits: Edit[] = [];
  const span = (node: ESTree.Node) => {
    const { start, end } = node as Ranged;
    if (start === undefined || end === undefined)
      throw new Error("instrument: the parser did not record ranges");
    return { start, end };
  };
  const plan = planAutoRef(program);
  for (const call of plan.refCalls) edits.push({ ...span(call.callee), text: REF_CALL });
  const check = (node: ESTree.Node) => {
    const { start, end } = span(node);
    // Double parentheses: a sequence expression operand stays one argument.
    edits.push({ start, end: start, text: `${REF_CHECK}((` }, { start: end, end, text: "))" });
  };
  forEachNode(program, (node) => {
    if (node.type === "BinaryExpression" && ["==", "!=", "===", "!=="].includes(node.operator)) {
      check(node.left);
      check(node.right);
    } else if (node.type === "SwitchStatement") {
      check(node.discriminant);
      for (const c of node.cases) if (c.test) check(c.test);
    }
  });
  // Back to front, so earlier offsets stay valid; at one offset a replacement goes before an
  // insertion (the insertion then lands in front of it). Insertions sharing an offset are all
  // opening or all closing text, so their order does not matter.
  edits.sort((a, b) => b.start - a.start || b.end - b.start - (a.end - a.start));
  let out = source;
  for (const edit of edits) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return { source: out, refCalls: plan.refCalls.length };
}
