/**
 * Which context fields a template's text depends on, when it depends on nothing else: then the text
 * can be rendered again, the same, from those fields' values alone (telemetry keeps a prompt that way).
 */
import { ALLOWED_NODES, childNodes, type NjNode, nodeOf, testOf } from './ast.js';

// Node types whose value is their children's, computed by the runtime's deterministic operations:
// every type a template may contain but those that name a variable, call, loop, assign or slice (and
// those `reads` looks into itself).
const NOT_PLAIN: ReadonlySet<string> = new Set([
  'Symbol',
  'LookupVal',
  'Slice',
  'For',
  'FunCall',
  'Set',
  'Switch',
  'Case',
  'Capture',
  'Filter',
  'Is',
  'Pair',
]);
const PLAIN: ReadonlySet<string> = new Set([...ALLOWED_NODES].filter((t) => !NOT_PLAIN.has(t)));

/**
 * The fields a checked template reads as `context.name` (or `context['name']`), or null when its text
 * may depend on anything else: any other variable (`history`, `context` itself, a `set` or loop
 * variable), a call, a loop, a slice. Filters, tests, conditions and operators on those reads are
 * fine: they are pure functions of their inputs.
 */
export function contextReads(root: NjNode): string[] | null {
  const out = new Set<string>();
  return reads(root, out) ? [...out] : null;
}

function reads(n: NjNode, out: Set<string>): boolean {
  switch (n.typename) {
    case 'LookupVal': {
      const target = nodeOf(n.target);
      const key = nodeOf(n.val);
      if (target.typename === 'Symbol' && target.value === 'context') {
        if (key.typename !== 'Literal' || typeof key.value !== 'string') return false;
        out.add(key.value);
        return true;
      }
      return key.typename !== 'Slice' && reads(target, out) && reads(key, out);
    }
    case 'Filter':
      return reads(nodeOf(n.args), out);
    case 'Pair':
      return reads(nodeOf(n.value), out);
    case 'Is': {
      const { args } = testOf(nodeOf(n.right));
      return reads(nodeOf(n.left), out) && (args === undefined || reads(args, out));
    }
    default:
      if (!PLAIN.has(n.typename)) return false;
      for (const c of childNodes(n)) if (!reads(c, out)) return false;
      return true;
  }
}
