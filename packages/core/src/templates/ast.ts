/**
 * The template syntax tree: nunjucks' parser (plus Python slices), the node types a template may
 * contain, and the tree helpers shared by the checker and the compiler (which do not import each
 * other).
 */
import nunjucks from 'nunjucks';

/** A node of nunjucks' syntax tree, as its parser makes it. */
export interface NjNode {
  readonly typename: string;
  readonly fields: readonly string[];
  lineno: number;
  colno: number;
  [field: string]: unknown;
}
/** A node class of nunjucks (`nodes.Output`…), and `extend` to derive one. */
export type NodeCtor = (new (
  lineno: number,
  colno: number,
  ...fields: unknown[]
) => NjNode) & {
  extend(name: string, props?: object): NodeCtor;
};
/** A token of nunjucks' lexer. */
export interface NjToken {
  type: string;
  value: unknown;
  lineno: number;
  colno: number;
}
/** nunjucks' token stream (its position is restored when a slice parse backtracks). */
export interface NjTokenizer {
  index: number;
  lineno: number;
  colno: number;
}
/** The parts of nunjucks' parser the sandbox uses. */
export interface NjParser {
  tokens: NjTokenizer;
  peeked: NjToken | null | false;
  parseAggregate(): NjNode | null;
  parseAsRoot(): NjNode;
  parseExpression(): NjNode;
  peekToken(): NjToken | null;
  nextToken(): NjToken | null;
  skip(type: string): boolean;
  fail(message: string, lineno?: number, colno?: number): never;
}
/** The parts of nunjucks' compiler the sandbox uses. */
export interface NjCompiler {
  buffer: string;
  compile(node: NjNode, frame: unknown): void;
  getCode(): string;
  fail(message: string, lineno?: number, colno?: number): never;
  _emit(code: string): void;
  _emitLine(code: string): void;
  _compileExpression(node: NjNode, frame: unknown): void;
  _compileAggregate(node: NjNode, frame: unknown, start?: string, end?: string): void;
  compileSymbol(node: NjNode, frame: unknown): void;
}
/** nunjucks' internals this layer builds on (untyped by the package). */
export interface NunjucksInternals {
  nodes: Record<string, NodeCtor>;
  lexer: { lex(src: string, opts: object): NjTokenizer; [token: string]: unknown };
  parser: { Parser: new (tokens: NjTokenizer) => NjParser };
  compiler: { Compiler: new (name: string | undefined, throwOnUndefined: boolean) => NjCompiler };
  lib: { TemplateError: new (...a: unknown[]) => Error };
}
/** nunjucks, typed as far as this layer uses it. */
export const nj = nunjucks as unknown as NunjucksInternals;
/** nunjucks' node classes, by name. */
export const N = nj.nodes as Record<string, NodeCtor>;
/** A field of a node, as a node. */
export const nodeOf = (n: unknown): NjNode => n as NjNode;
/** The children of a list-like node (`NodeList`, `Output`, `Array`…). */
export const childrenOf = (n: unknown): NjNode[] => (n as { children: NjNode[] }).children;

/** `a[b:c:d]`, produced by {@link SandboxParser}, rewritten to `runtime.slice`. */
export const SliceNode = N.Node!.extend('Slice', { fields: ['start', 'stop', 'step'] });
/** A call of a runtime helper, inserted by the rewriter (templates cannot write one). */
export const RtCall = N.FunCall!.extend('RtCall');

const TOKEN = nj.lexer as unknown as Record<string, string>;

/** nunjucks' parser plus Python slices (the way nunjucks' own Jinja compat does it, without patching). */
export class SandboxParser extends nj.parser.Parser {
  override parseAggregate(): NjNode | null {
    const t = this.tokens;
    const before = { index: t.index - 1, lineno: t.lineno, colno: t.colno - 1 };
    try {
      return super.parseAggregate();
    } catch (e) {
      const failed = { index: t.index, lineno: t.lineno, colno: t.colno };
      const restore = () => {
        Object.assign(t, failed);
        return e;
      };
      Object.assign(t, before);
      this.peeked = false;
      const tok = this.peekToken();
      if (!tok || tok.type !== TOKEN.TOKEN_LEFT_BRACKET) throw restore();
      this.nextToken();
      const parts: (NjNode | null)[] = [null, null, null];
      let isSlice = false;
      for (let i = 0; i <= 3; i++) {
        if (this.skip(TOKEN.TOKEN_RIGHT_BRACKET!)) break;
        if (i === 3) {
          if (isSlice) this.fail('too many slice components', tok.lineno, tok.colno);
          break;
        }
        if (this.skip(TOKEN.TOKEN_COLON!)) isSlice = true;
        else {
          parts[i] = this.parseExpression();
          isSlice = this.skip(TOKEN.TOKEN_COLON!) || isSlice;
        }
      }
      if (!isSlice) throw restore();
      return new N.Array!(tok.lineno, tok.colno, [new SliceNode(tok.lineno, tok.colno, ...parts)]);
    }
  }
}

/** A plain identifier: the only names a template may use or the compiler may emit unquoted. */
export const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Node types a template may contain. */
export const ALLOWED_NODES: ReadonlySet<string> = new Set([
  'Root',
  'NodeList',
  'Output',
  'TemplateData',
  'Literal',
  'Symbol',
  'Group',
  'Array',
  'Dict',
  'Pair',
  'LookupVal',
  'Slice',
  'If',
  'InlineIf',
  'For',
  'FunCall',
  'Filter',
  'KeywordArgs',
  'Set',
  'Switch',
  'Case',
  'Capture',
  'In',
  'Is',
  'Or',
  'And',
  'Not',
  'Add',
  'Concat',
  'Sub',
  'Mul',
  'Div',
  'FloorDiv',
  'Mod',
  'Pow',
  'Neg',
  'Pos',
  'Compare',
  'CompareOperand',
]);

/** Node types the sandboxed compiler accepts (after rewriting: slices are gone, runtime calls added). */
export const COMPILABLE: ReadonlySet<string> = new Set([...ALLOWED_NODES, 'RtCall'].filter((t) => t !== 'Slice' && t !== 'CompareOperand'));

/** Child nodes of a node (fields holding nodes or lists of nodes). */
export function* childNodes(n: NjNode): Generator<NjNode> {
  for (const f of n.fields) {
    const v = n[f];
    if (Array.isArray(v)) {
      for (const x of v) if (x && typeof x === 'object' && 'typename' in x) yield x as NjNode;
    } else if (v && typeof v === 'object' && 'typename' in v) yield v as NjNode;
  }
}

/** `x.y.z` for messages and call labels. */
export function calleeLabel(n: NjNode): string {
  if (n.typename === 'Symbol') return String(n.value);
  if (n.typename === 'LookupVal') {
    const val = nodeOf(n.val);
    const key = val.typename === 'Literal' ? String(val.value) : '[…]';
    return `${calleeLabel(nodeOf(n.target))}.${key}`;
  }
  return 'expression';
}

/** Python spellings of tests (`is None`). */
export const TEST_ALIASES: ReadonlyMap<string, string> = new Map([
  ['None', 'none'],
  ['True', 'true'],
  ['False', 'false'],
]);

/** The test an `is` names, and its arguments. */
export function testOf(right: NjNode): { name: string | undefined; args?: NjNode } {
  switch (right.typename) {
    case 'Symbol': {
      const name = String(right.value);
      return { name: TEST_ALIASES.get(name) ?? name };
    }
    case 'Literal':
      return { name: right.value === null ? 'none' : right.value === true ? 'true' : right.value === false ? 'false' : undefined };
    case 'FunCall': {
      const callee = nodeOf(right.name);
      if (callee.typename !== 'Symbol') return { name: undefined };
      const name = String(callee.value);
      return { name: TEST_ALIASES.get(name) ?? name, args: nodeOf(right.args) };
    }
    default:
      return { name: undefined };
  }
}

/** A list of nodes at the position of `at`. */
export const nodeList = (at: NjNode, items: NjNode[]) => new N.NodeList!(at.lineno, at.colno, items);
/** A literal at the position of `at`. */
export const literal = (at: NjNode, v: unknown) => new N.Literal!(at.lineno, at.colno, v);
