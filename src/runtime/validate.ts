// Parses AgentScript with meriyah and enforces the subset (DESIGN "AgentScript and the
// sandbox") before anything runs. The QuickJS sandbox is the real boundary; this pass gives
// LLM-written code clear, early errors with line and column, and removes whole families of
// tricks (constructor chains, eval, with, getters) before they reach it.
import { isParseError, parseScript, type ESTree, type ParseError } from "meriyah";
import { childNodes, forEachNode, isPropertyName, patternIdentifiers } from "./ast.ts";
import { RESERVED_PREFIX } from "./ref-prelude.ts";

export const AGENTSCRIPT_GLOBALS = new Set([
  "callTool",
  "console",
  "Math",
  "JSON",
  "Array",
  "Object",
  "String",
  "Number",
  "Boolean",
  "Date",
  "parseInt",
  "parseFloat",
  "isNaN",
  "isFinite",
  "undefined",
  "NaN",
  "Infinity",
]);

const GLOBALS_LIST = [...AGENTSCRIPT_GLOBALS].join(", ");

const FORBIDDEN_PROPERTIES = new Set([
  "constructor",
  "__proto__",
  "prototype",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
]);

/** Wrapped so that top-level await and return parse; the wrapper adds one line. */
const WRAP_PREFIX = "(async () => {\n";
const WRAP_SUFFIX = "\n})";

export class AgentScriptValidationError extends Error {
  override name = "AgentScriptValidationError";
  constructor(
    readonly code:
      | "parse_error"
      | "forbidden_syntax"
      | "forbidden_identifier"
      | "forbidden_property",
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} (line ${line}, column ${column})`);
  }
}

export interface ValidatedScript {
  /** The script's body, as an ESTree, inside the async wrapper. */
  program: ESTree.Program;
  /** The code to evaluate: the script inside an async arrow (top-level await and return). */
  wrappedSource: string;
}

type Node = ESTree.Node & { loc?: ESTree.SourceLocation | null };

export function validateAgentScript(code: string): ValidatedScript {
  const wrappedSource = WRAP_PREFIX + code + WRAP_SUFFIX;
  const scriptStart = WRAP_PREFIX.length;
  const brackets = new BracketTracker(wrappedSource, scriptStart, scriptStart + code.length);
  let program: ESTree.Program;
  try {
    const onToken = brackets.onToken;
    program = parseScript(wrappedSource, { loc: true, ranges: true, next: true, onToken });
  } catch (err) {
    if (!isParseError(err)) throw err;
    throw brackets.syntaxError(err);
  }
  // A script that closes the wrapper parses, but its code would run outside it.
  const escaped = brackets.escape;
  if (escaped) throw escapeError(escaped);
  const declared = new Set<string>();
  collectDeclarations(program, declared);
  walk(program, undefined, undefined, declared, 0);
  return { program, wrappedSource };
}

interface Opener {
  text: string;
  /** Where it is, in the script's own coordinates (1-based line and column). */
  line: number;
  column: number;
  inScript: boolean;
}

/**
 * Follows (, [, { and template substitutions token by token while meriyah parses the wrapped
 * script, so that errors can be placed in the script itself: a closer that reaches the wrapper's
 * own brackets (the script would escape it), and, when parsing fails in the wrapper's suffix,
 * the script's innermost bracket left open (the script ended too early).
 */
class BracketTracker {
  private readonly open: Opener[] = [];
  /** The first script bracket the wrapper's suffix had to close: the one the script left open. */
  private leftOpen: Opener | undefined;
  /** Where the script's last token ends. */
  private lastEnd: { line: number; column: number } = { line: 1, column: 1 };
  /** The first closer in the script that closed one of the wrapper's brackets. */
  escape: Opener | undefined;

  constructor(
    private readonly wrapped: string,
    private readonly scriptStart: number,
    private readonly scriptEnd: number,
  ) {}

  readonly onToken = (kind: string, start: number, end: number, loc: ESTree.SourceLocation) => {
    const inScript = start >= this.scriptStart && start < this.scriptEnd;
    const at = { line: loc.start.line - 1, column: loc.start.column + 1, inScript };
    if (inScript) this.lastEnd = { line: loc.end.line - 1, column: loc.end.column + 1 };
    const bracketLike = kind === "Punctuator" || kind === "TemplateLiteral";
    const text = bracketLike ? this.wrapped.slice(start, end) : "";
    // A template literal token spans `…${, }…${ or }…`: it closes and opens substitutions.
    const closes = kind === "Punctuator" ? [")", "]", "}"].includes(text) : text.startsWith("}");
    const opens = kind === "Punctuator" ? ["(", "[", "{"].includes(text) : /\$\{$/.test(text);
    if (closes) {
      const top = this.open.pop();
      if (top && !top.inScript && inScript) this.escape ??= { text: text[0]!, ...at };
      if (top?.inScript && !inScript) this.leftOpen ??= top;
    }
    if (opens) this.open.push({ text: kind === "Punctuator" ? text : "${", ...at });
  };

  syntaxError(err: ParseError): AgentScriptValidationError {
    if (this.escape) return escapeError(this.escape);
    if (err.start < this.scriptEnd) {
      const { line, column } = err.loc.start;
      return syntaxError(err.description, line - 1, column + 1);
    }
    // The parser only failed in the wrapper's suffix: the script ended before it was complete.
    const unclosed = this.leftOpen ?? [...this.open].reverse().find((o) => o.inScript);
    if (!unclosed) {
      const { line, column } = this.lastEnd;
      return syntaxError("the script ends in the middle of a statement", line, column);
    }
    const what = unclosed.text === "${" ? "template substitution `${`" : `\`${unclosed.text}\``;
    const { line, column } = unclosed;
    return syntaxError(`the script ends before this ${what} is closed`, line, column);
  }
}

const syntaxError = (message: string, line: number, column: number) =>
  new AgentScriptValidationError("parse_error", `syntax error: ${message}`, line, column);

const escapeError = (at: Opener) =>
  syntaxError(`unexpected \`${at.text}\`: nothing is open here to close`, at.line, at.column);

function fail(node: Node, code: AgentScriptValidationError["code"], message: string): never {
  const start = node.loc?.start ?? { line: 2, column: 0 };
  throw new AgentScriptValidationError(code, message, start.line - 1, start.column + 1);
}

const FORBIDDEN_NODES: Partial<Record<string, string>> = {
  FunctionDeclaration: "function declarations are not allowed; use const f = (…) => …",
  FunctionExpression: "function expressions are not allowed; use an arrow function",
  ClassDeclaration: "classes are not allowed",
  ClassExpression: "classes are not allowed",
  ThisExpression: "`this` is not allowed",
  WithStatement: "`with` is not allowed",
  WhileStatement: "`while` loops are not allowed; use for or for-of",
  DoWhileStatement: "`do … while` loops are not allowed; use for or for-of",
  ForInStatement: "`for … in` is not allowed; use for-of over Object.keys(…)",
  ImportDeclaration: "import is not allowed",
  ImportExpression: "import() is not allowed",
  ExportNamedDeclaration: "export is not allowed",
  ExportDefaultDeclaration: "export is not allowed",
  ExportAllDeclaration: "export is not allowed",
  YieldExpression: "generators are not allowed",
  MetaProperty: "new.target and import.meta are not allowed",
  LabeledStatement: "labels are not allowed",
  DebuggerStatement: "debugger is not allowed",
  TaggedTemplateExpression: "tagged templates are not allowed",
  Super: "super is not allowed",
};

function walk(
  n: Node,
  parent: Node | undefined,
  key: string | undefined,
  declared: Set<string>,
  depth: number,
): void {
  if (depth > 500) fail(n, "forbidden_syntax", "the script is nested too deeply");
  const forbidden = FORBIDDEN_NODES[n.type];
  if (forbidden) fail(n, "forbidden_syntax", forbidden);
  switch (n.type) {
    case "VariableDeclaration":
      if (n.kind === "var") fail(n, "forbidden_syntax", "`var` is not allowed; use const or let");
      break;
    case "Property":
      if (n.kind === "get" || n.kind === "set")
        fail(n, "forbidden_syntax", "getters and setters are not allowed");
      if (n.method)
        fail(
          n,
          "forbidden_syntax",
          "object methods are not allowed; use an arrow function property",
        );
      checkPropertyName(n.key, n.computed, n);
      break;
    case "MemberExpression":
      checkPropertyName(n.property, n.computed, n);
      break;
    case "ArrowFunctionExpression":
      if ((n as ESTree.ArrowFunctionExpression & { generator?: boolean }).generator)
        fail(n, "forbidden_syntax", "generators are not allowed");
      break;
    case "NewExpression":
      if (n.callee.type !== "Identifier" || n.callee.name !== "Date")
        fail(n, "forbidden_syntax", "`new` is allowed only as new Date(…)");
      break;
    case "Identifier":
      if (n.name.startsWith(RESERVED_PREFIX) && isReference(n, parent, key)) {
        fail(
          n,
          "forbidden_identifier",
          `names starting with ${RESERVED_PREFIX} are reserved for the runtime`,
        );
      }
      if (
        isReference(n, parent, key) &&
        !declared.has(n.name) &&
        !AGENTSCRIPT_GLOBALS.has(n.name)
      ) {
        fail(
          n,
          "forbidden_identifier",
          `\`${n.name}\` is not defined in AgentScript (globals: ${GLOBALS_LIST})`,
        );
      }
      break;
  }
  for (const [childKey, child] of childNodes(n)) walk(child, n, childKey, declared, depth + 1);
}

function checkPropertyName(property: ESTree.Node, computed: boolean, node: Node): void {
  const name =
    !computed && property.type === "Identifier"
      ? property.name
      : property.type === "Literal" && typeof property.value === "string"
        ? property.value
        : property.type === "TemplateLiteral" && property.expressions.length === 0
          ? (property.quasis[0]?.value.cooked ?? undefined)
          : undefined;
  if (name !== undefined && FORBIDDEN_PROPERTIES.has(name))
    fail(node, "forbidden_property", `access to \`${name}\` is not allowed`);
}

/** An identifier that names a variable (not a property name or object key). */
function isReference(
  _identifier: ESTree.Identifier,
  parent: Node | undefined,
  key: string | undefined,
): boolean {
  return !parent || key === undefined || !isPropertyName(parent, key);
}

function collectDeclarations(root: Node, out: Set<string>): void {
  forEachNode(root, (n) => {
    const patterns =
      n.type === "VariableDeclarator"
        ? [n.id]
        : n.type === "ArrowFunctionExpression"
          ? n.params
          : n.type === "CatchClause" && n.param
            ? [n.param]
            : [];
    for (const pattern of patterns) for (const id of patternIdentifiers(pattern)) out.add(id.name);
  });
}
