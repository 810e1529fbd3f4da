// The auto-ref pass (DESIGN "Reference sidecar and auto-ref"): finds each `await callTool(…)`
// whose result the script never reads, only passes on (into another callTool's arguments,
// possibly nested in object and array literals) or returns from the script. Those calls are
// answered with a reference, so the value never enters the sandbox. The pass is conservative:
// anything it cannot prove to be pass-through materializes.
import type { ESTree } from "meriyah";
import {
  childNodes,
  isBindingPosition,
  isPropertyName,
  patternExpressions,
  patternIdentifiers,
} from "./ast.ts";

type Node = ESTree.Node;

interface Binding {
  /** A const, or a let never assigned again; anything else is not tracked. */
  declarator?: ESTree.VariableDeclarator;
  kind: "const" | "let" | "other";
  writes: number;
  /** Each read, with the chain of nodes above it (outermost first). */
  reads: { node: Node; ancestors: Node[] }[];
}

interface Scope {
  parent?: Scope;
  vars: Map<string, Binding>;
}

export interface AutoRefPlan {
  /** callTool calls whose results stay in the sidecar: their callee is rewritten. */
  refCalls: ESTree.CallExpression[];
  /** Calls that materialize (for tests and diagnostics). */
  materializedCalls: ESTree.CallExpression[];
}

export function planAutoRef(program: ESTree.Program): AutoRefPlan {
  const candidates: { call: ESTree.CallExpression; ancestors: Node[] }[] = [];
  const globalCalls = new Set<Node>();
  const declaratorBindings = new Map<ESTree.VariableDeclarator, Binding>();

  const lookup = (scope: Scope | undefined, name: string): Binding | undefined => {
    for (let s = scope; s; s = s.parent) {
      const found = s.vars.get(name);
      if (found) return found;
    }
    return undefined;
  };
  const isGlobalCallTool = (node: Node, scope: Scope) =>
    node.type === "Identifier" && node.name === "callTool" && !lookup(scope, "callTool");

  const declarePattern = (scope: Scope, pattern: Node, binding: () => Binding) => {
    for (const id of patternIdentifiers(pattern)) scope.vars.set(id.name, binding());
  };
  const declareStatements = (scope: Scope, statements: Node[]) => {
    for (const statement of statements)
      if (statement.type === "VariableDeclaration") declareVariables(scope, statement);
  };
  const declareVariables = (scope: Scope, declaration: ESTree.VariableDeclaration) => {
    for (const declarator of declaration.declarations) {
      if (declarator.id.type === "Identifier") {
        const binding: Binding = {
          declarator,
          kind: declaration.kind === "const" ? "const" : "let",
          writes: 0,
          reads: [],
        };
        scope.vars.set(declarator.id.name, binding);
        declaratorBindings.set(declarator, binding);
      } else {
        declarePattern(scope, declarator.id, () => ({ kind: "other", writes: 0, reads: [] }));
      }
    }
  };

  /** Marks every identifier a pattern assigns to as written. */
  const markWrites = (pattern: Node, scope: Scope) => {
    for (const id of patternIdentifiers(pattern)) {
      const binding = lookup(scope, id.name);
      if (binding) binding.writes++;
    }
  };

  const visit = (node: Node, ancestors: Node[], scope: Scope): void => {
    let inner = scope;
    switch (node.type) {
      case "BlockStatement":
        inner = { parent: scope, vars: new Map() };
        declareStatements(inner, node.body);
        break;
      case "SwitchStatement":
        inner = { parent: scope, vars: new Map() };
        declareStatements(
          inner,
          node.cases.flatMap((c) => c.consequent),
        );
        break;
      case "ForStatement":
        inner = { parent: scope, vars: new Map() };
        if (node.init?.type === "VariableDeclaration") declareVariables(inner, node.init);
        break;
      case "ForOfStatement":
        inner = { parent: scope, vars: new Map() };
        if (node.left.type === "VariableDeclaration") declareVariables(inner, node.left);
        else markWrites(node.left, scope);
        break;
      case "ArrowFunctionExpression":
        inner = { parent: scope, vars: new Map() };
        for (const param of node.params)
          declarePattern(inner, param, () => ({ kind: "other", writes: 0, reads: [] }));
        break;
      case "CatchClause":
        inner = { parent: scope, vars: new Map() };
        if (node.param)
          declarePattern(inner, node.param, () => ({ kind: "other", writes: 0, reads: [] }));
        break;
      case "AssignmentExpression":
        markWrites(node.left, scope);
        break;
      case "UpdateExpression":
        markWrites(node.argument, scope);
        break;
      case "CallExpression":
        if (isGlobalCallTool(node.callee, scope)) {
          candidates.push({ call: node, ancestors });
          globalCalls.add(node);
        }
        break;
      case "Identifier": {
        const binding = lookup(scope, node.name);
        if (binding) binding.reads.push({ node, ancestors });
        return;
      }
    }
    const below = [...ancestors, node];
    for (const [key, child] of childNodes(node)) {
      if (isPropertyName(node, key)) continue;
      if (isBindingPosition(node, key)) {
        // Names being declared are not reads; default values and computed keys inside are.
        for (const expression of patternExpressions(child))
          visit(expression, [...below, child], inner);
        continue;
      }
      visit(child, below, inner);
    }
  };

  const root: Scope = { vars: new Map() };
  visit(program, [], root);

  const plan: AutoRefPlan = { refCalls: [], materializedCalls: [] };
  for (const { call, ancestors } of candidates) {
    const parent = ancestors.at(-1);
    let byRef = false;
    if (parent?.type === "AwaitExpression" && parent.argument === call) {
      const holder = ancestors.at(-2);
      const above = ancestors.slice(0, -1);
      if (
        holder?.type === "VariableDeclarator" &&
        holder.init === parent &&
        holder.id.type === "Identifier"
      ) {
        const binding = declaratorBindings.get(holder);
        byRef =
          !!binding &&
          binding.writes === 0 &&
          binding.reads.every((read) => isPassThrough(read.ancestors, read.node, globalCalls));
      } else {
        byRef = isPassThrough(above, parent, globalCalls);
      }
    }
    (byRef ? plan.refCalls : plan.materializedCalls).push(call);
  }
  return plan;
}

/**
 * True when `node`, whose ancestors are `ancestors` (outermost first), is only passed on: it
 * sits, possibly inside array elements and object property values, in the arguments object of a
 * global callTool call, or in the script's own `return`.
 */
function isPassThrough(ancestors: Node[], node: Node, globalCalls: Set<Node>): boolean {
  let child: Node = node;
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const parent = ancestors[i]!;
    switch (parent.type) {
      case "ArrayExpression":
        child = parent;
        continue;
      case "Property":
        if (parent.value !== child || parent.kind !== "init" || parent.method) return false;
        child = parent;
        continue;
      case "ObjectExpression":
        if (!parent.properties.includes(child as ESTree.Property)) return false;
        child = parent;
        continue;
      case "CallExpression":
        return parent.arguments[1] === child && globalCalls.has(parent);
      case "ReturnStatement":
        // Only the script's own return: inside a nested arrow the value flows on to its caller.
        return (
          ancestors.slice(0, i).filter((n) => n.type === "ArrowFunctionExpression").length === 1
        );
      default:
        return false;
    }
  }
  return false;
}
