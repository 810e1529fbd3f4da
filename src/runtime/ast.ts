// The AgentScript syntax tree, walked the same way by every pass over it: validation (what a
// script may contain), instrumentation (the wrapper's rewrites) and the auto-ref plan. meriyah
// produces ESTree nodes; `loc` and `range` are positions, not children.
import type { ESTree } from "meriyah";

type Node = ESTree.Node;

/** Children of a node that are nodes, with the key they sit under. */
export function* childNodes(node: Node): Generator<[string, Node]> {
  for (const [key, value] of Object.entries(node)) {
    if (key === "loc" || key === "range") continue;
    if (Array.isArray(value)) {
      for (const item of value)
        if (item && typeof item === "object" && typeof item.type === "string") yield [key, item];
    } else if (value && typeof value === "object" && typeof (value as Node).type === "string") {
      yield [key, value as Node];
    }
  }
}

/** A property's name (`o.name`, `{ name: … }`) is not a variable read. */
export function isPropertyName(node: Node, key: string): boolean {
  return (
    (node.type === "MemberExpression" && key === "property" && !node.computed) ||
    (node.type === "Property" && key === "key" && !node.computed)
  );
}

/** Keys under which a node holds a pattern that declares names (not reads them). */
export function isBindingPosition(node: Node, key: string): boolean {
  return (
    (node.type === "VariableDeclarator" && key === "id") ||
    (node.type === "ArrowFunctionExpression" && key === "params") ||
    (node.type === "CatchClause" && key === "param")
  );
}

/** The identifiers a binding pattern declares (destructuring, rest and defaults included). */
export function patternIdentifiers(pattern: Node): ESTree.Identifier[] {
  switch (pattern.type) {
    case "Identifier":
      return [pattern];
    case "ObjectPattern":
      return pattern.properties.flatMap((p) =>
        patternIdentifiers(p.type === "RestElement" ? p.argument : p.value),
      );
    case "ArrayPattern":
      return pattern.elements.flatMap((e) => (e ? patternIdentifiers(e) : []));
    case "RestElement":
      return patternIdentifiers(pattern.argument);
    case "AssignmentPattern":
      return patternIdentifiers(pattern.left);
    default:
      return [];
  }
}

/** Expressions inside a declaring pattern that are evaluated: default values and computed keys. */
export function patternExpressions(pattern: Node): Node[] {
  switch (pattern.type) {
    case "ObjectPattern":
      return pattern.properties.flatMap((p) =>
        p.type === "RestElement"
          ? patternExpressions(p.argument)
          : [...(p.computed ? [p.key] : []), ...patternExpressions(p.value)],
      );
    case "ArrayPattern":
      return pattern.elements.flatMap((e) => (e ? patternExpressions(e) : []));
    case "RestElement":
      return patternExpressions(pattern.argument);
    case "AssignmentPattern":
      return [...patternExpressions(pattern.left), pattern.right as Node];
    default:
      return [];
  }
}

/** Calls `visit` on every node under `root` (itself included), parents before children. */
export function forEachNode(root: Node, visit: (node: Node) => void): void {
  visit(root);
  for (const [, child] of childNodes(root)) forEachNode(child, visit);
}
