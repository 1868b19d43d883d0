/**
 * The compile-time check of a parsed template: only whitelisted node types, plain identifiers, no
 * `Object.prototype` member names, calls only of whitelisted globals, `set` variables and methods,
 * known filters and tests. Collects every reason a template is refused.
 */
import { ALLOWED_NODES, calleeLabel, childNodes, childrenOf, IDENT, type NjNode, nodeOf, testOf } from './ast.js';
import { FILTERS, GLOBALS, TESTS } from './filters.js';
import { METHOD_NAMES } from './methods.js';
import { BLOCKED_KEYS } from './values.js';

/** How refused constructs are named in errors. */
const REFUSED: Record<string, string> = {
  Include: '{% include %}',
  Import: '{% import %}',
  FromImport: '{% from … import %}',
  Extends: '{% extends %}',
  Block: '{% block %}',
  Super: 'super()',
  Macro: '{% macro %}',
  Caller: '{% call %}',
  CallExtension: 'template extensions',
  CallExtensionAsync: 'template extensions',
  FilterAsync: 'asynchronous filters',
  IfAsync: '{% ifAsync %}',
  AsyncEach: '{% asyncEach %}',
  AsyncAll: '{% asyncAll %}',
};

const CALLABLE_HINT =
  'only range(), dict(), cycler(), joiner(), variables set to one of those, and string, dict and list methods can be called';

/** The names a template assigns with `{% set %}` (which it may then call, if they hold a helper). */
export function collectSetNames(n: NjNode, out: Set<string>): Set<string> {
  if (n.typename === 'Set') for (const t of n.targets as NjNode[]) if (t.typename === 'Symbol') out.add(String(t.value));
  for (const c of childNodes(n)) collectSetNames(c, out);
  return out;
}

function checkName(v: unknown, problems: Set<string>): void {
  const name = String(v);
  if (BLOCKED_KEYS.has(name)) problems.add(`'${name}' is not accessible in templates`);
  else if (!IDENT.test(name)) problems.add(`'${name}' is not a valid name`);
}

function checkTarget(n: NjNode, problems: Set<string>): void {
  if (n.typename === 'Symbol') checkName(n.value, problems);
  else problems.add('only names can be assigned');
}

/** Collects every reason the template is refused. */
export function check(n: NjNode, problems: Set<string>, setNames: ReadonlySet<string>): void {
  const type = n.typename;
  if (!ALLOWED_NODES.has(type)) {
    problems.add(`${Object.hasOwn(REFUSED, type) ? REFUSED[type] : `'${type}'`} is not allowed in templates`);
    return;
  }
  switch (type) {
    case 'Symbol':
      checkName(n.value, problems);
      return;
    case 'Literal': {
      const v = n.value;
      if (!(v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
        problems.add('regular expression literals are not supported');
      return;
    }
    case 'Slice':
      problems.add('slice syntax is only allowed in a subscript (x[a:b])');
      return;
    case 'LookupVal': {
      check(nodeOf(n.target), problems, setNames);
      const val = nodeOf(n.val);
      if (val.typename === 'Slice') {
        for (const c of childNodes(val)) check(c, problems, setNames);
        return;
      }
      if (val.typename === 'Literal' && typeof val.value === 'string' && BLOCKED_KEYS.has(val.value)) {
        problems.add(`'${val.value}' is not accessible in templates`);
        return;
      }
      check(val, problems, setNames);
      return;
    }
    case 'Pair': {
      const key = nodeOf(n.key);
      if (key.typename !== 'Symbol' && !(key.typename === 'Literal' && typeof key.value === 'string'))
        problems.add('dict keys must be strings or names');
      else if (BLOCKED_KEYS.has(String(key.value))) problems.add(`'${String(key.value)}' cannot be used as a dict key`);
      else if (key.typename === 'Symbol' && !IDENT.test(String(key.value))) problems.add(`'${String(key.value)}' is not a valid name`);
      check(nodeOf(n.value), problems, setNames);
      return;
    }
    case 'Filter': {
      const name = String(nodeOf(n.name).value);
      if (!FILTERS.has(name)) problems.add(`unknown filter '${name}'`);
      check(nodeOf(n.args), problems, setNames);
      return;
    }
    case 'Is': {
      check(nodeOf(n.left), problems, setNames);
      const { name, args } = testOf(nodeOf(n.right));
      if (name === undefined) problems.add("'is' must be followed by the name of a test");
      else if (!TESTS.has(name)) problems.add(`unknown test '${name}'`);
      if (args) check(args, problems, setNames);
      return;
    }
    case 'FunCall': {
      const callee = nodeOf(n.name);
      const ok =
        (callee.typename === 'Symbol' && (GLOBALS.has(String(callee.value)) || setNames.has(String(callee.value)))) ||
        (callee.typename === 'LookupVal' &&
          nodeOf(callee.val).typename === 'Literal' &&
          typeof nodeOf(callee.val).value === 'string' &&
          METHOD_NAMES.has(String(nodeOf(callee.val).value)));
      if (!ok && !(callee.typename === 'LookupVal' && BLOCKED_KEYS.has(String(nodeOf(callee.val).value))))
        problems.add(`'${calleeLabel(callee)}' cannot be called in a template (${CALLABLE_HINT})`);
      check(callee, problems, setNames);
      check(nodeOf(n.args), problems, setNames);
      return;
    }
    case 'Set':
      for (const t of n.targets as NjNode[]) checkTarget(t, problems);
      if (n.value) check(nodeOf(n.value), problems, setNames);
      if (n.body) check(nodeOf(n.body), problems, setNames);
      return;
    case 'For': {
      const name = nodeOf(n.name);
      if (name.typename === 'Array') for (const t of childrenOf(name)) checkTarget(t, problems);
      else checkTarget(name, problems);
      check(nodeOf(n.arr), problems, setNames);
      check(nodeOf(n.body), problems, setNames);
      if (n.else_) check(nodeOf(n.else_), problems, setNames);
      return;
    }
    default:
      for (const c of childNodes(n)) check(c, problems, setNames);
  }
}
