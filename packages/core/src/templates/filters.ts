/**
 * What a template can call by name: the globals (`range`, `dict`, `cycler`, `joiner`), the tests
 * (`x is defined`) and the filters (`x | join(', ')`), each with Python/Jinja semantics.
 */
import { TemplateError } from '../errors.js';
import { type RenderBudget, SIZE_LIMIT } from './budget.js';
import { attrGetter, capitalize, dataGet, pad, percentFormat, pyReplace, titleCase, trimChars } from './methods.js';
import {
  BLOCKED_KEYS,
  bind,
  blockedKey,
  codePointCount,
  compare,
  contains,
  dataOnly,
  describeType,
  eq,
  firstChar,
  Helper,
  intArg,
  isPlainObject,
  iterable,
  joinText,
  KwArgs,
  keyOf,
  lastChar,
  listOf,
  num,
  sizeArg,
  sortCompare,
  splitArgs,
  str,
  toJson,
  truthy,
} from './values.js';

function rangeImpl(budget: RenderBudget, _: unknown, args: unknown[]): number[] {
  const [a, b, c] = bind('range', args, ['start', 'stop', 'step'], [undefined, undefined, 1]);
  let start = intArg(a, 0, 'range()');
  let stop: number;
  if (b === undefined) {
    stop = start;
    start = 0;
  } else stop = intArg(b, 0, 'range()');
  const step = intArg(c, 1, 'range() step');
  if (step === 0) throw new TemplateError('range() step must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > SIZE_LIMIT) throw new TemplateError(`range() is limited to ${SIZE_LIMIT} items`);
  budget.charge(n);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return out;
}

function cyclerImpl(_budget: RenderBudget, _: unknown, args: unknown[]): Record<string, unknown> {
  const [items] = splitArgs(args);
  const state: Record<string, unknown> = Object.create(null);
  let i = 0;
  state.current = items[0];
  state.next = new Helper(() => {
    const v = items[i % items.length];
    i++;
    state.current = items[i % items.length];
    return v;
  });
  state.reset = new Helper(() => {
    i = 0;
    state.current = items[0];
    return undefined;
  });
  return state;
}

function joinerImpl(_budget: RenderBudget, _: unknown, args: unknown[]): Helper {
  const [sep] = bind('joiner', args, ['sep'], [', ']);
  let first = true;
  return new Helper(() => {
    if (first) {
      first = false;
      return '';
    }
    return str(sep);
  });
}

function dictImpl(budget: RenderBudget, _: unknown, args: unknown[]): Record<string, unknown> {
  const [pos, kw] = splitArgs(args);
  const out: Record<string, unknown> = {};
  if (pos.length > 1) throw new TemplateError('dict() takes at most 1 positional argument');
  const src = pos[0];
  if (isPlainObject(src)) budget.charge(Object.keys(src).length);
  else if (Array.isArray(src)) budget.charge(src.length);
  if (isPlainObject(src))
    for (const k of Object.keys(src))
      Object.defineProperty(out, k, { value: src[k], enumerable: true, writable: true, configurable: true });
  else if (Array.isArray(src)) {
    for (const pair of src) {
      const k = Array.isArray(pair) ? keyOf(pair[0]) : undefined;
      if (k === undefined) throw new TemplateError('dict() needs a list of [key, value] pairs');
      if (BLOCKED_KEYS.has(k)) throw blockedKey(k);
      Object.defineProperty(out, k, { value: (pair as unknown[])[1], enumerable: true, writable: true, configurable: true });
    }
  } else if (src !== undefined) throw new TemplateError(`dict() cannot convert ${describeType(src)}`);
  for (const k of Object.keys(kw)) Object.defineProperty(out, k, { value: kw[k], enumerable: true, writable: true, configurable: true });
  return out;
}

/** The globals templates see; all of them are helpers. (`True`, `False`, `None` are literals.) */
export const GLOBALS = new Map<string, unknown>([
  ['range', new Helper(rangeImpl)],
  ['dict', new Helper(dictImpl)],
  ['cycler', new Helper(cyclerImpl)],
  ['joiner', new Helper(joinerImpl)],
]);

// =============================================================================================
// Tests (`is defined`, `selectattr('x', 'equalto', 1)`)
// =============================================================================================

/** A test (`x is name(args)`): the render's budget, the value, the arguments. */
type Test = (budget: RenderBudget, v: unknown, ...args: unknown[]) => boolean;
const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
export const TESTS: ReadonlyMap<string, Test> = new Map<string, Test>([
  ['defined', (_, v) => v !== undefined],
  ['undefined', (_, v) => v === undefined],
  ['none', (_, v) => v === null],
  ['null', (_, v) => v === null],
  ['true', (_, v) => v === true],
  ['false', (_, v) => v === false],
  ['boolean', (_, v) => typeof v === 'boolean'],
  ['number', (_, v) => typeof v === 'number'],
  ['integer', (_, v) => isInt(v)],
  ['float', (_, v) => typeof v === 'number' && !Number.isInteger(v)],
  ['string', (_, v) => typeof v === 'string'],
  ['mapping', (_, v) => isPlainObject(v)],
  ['iterable', (_, v) => typeof v === 'string' || Array.isArray(v) || isPlainObject(v)],
  ['sequence', (_, v) => typeof v === 'string' || Array.isArray(v) || isPlainObject(v)],
  ['callable', (_, v) => v instanceof Helper],
  ['even', (_, v) => isInt(v) && (v as number) % 2 === 0],
  ['odd', (_, v) => isInt(v) && Math.abs((v as number) % 2) === 1],
  ['divisibleby', (_, v, n) => num(v, 'divisibleby') % num(n, 'divisibleby') === 0],
  ['eq', (budget, a, b) => eq(a, b, budget)],
  ['equalto', (budget, a, b) => eq(a, b, budget)],
  ['==', (budget, a, b) => eq(a, b, budget)],
  ['ne', (budget, a, b) => !eq(a, b, budget)],
  ['!=', (budget, a, b) => !eq(a, b, budget)],
  ['sameas', (_, a, b) => a === b],
  ['lt', (_, a, b) => compare('<', a, b)],
  ['<', (_, a, b) => compare('<', a, b)],
  ['lessthan', (_, a, b) => compare('<', a, b)],
  ['le', (_, a, b) => compare('<=', a, b)],
  ['<=', (_, a, b) => compare('<=', a, b)],
  ['gt', (_, a, b) => compare('>', a, b)],
  ['>', (_, a, b) => compare('>', a, b)],
  ['greaterthan', (_, a, b) => compare('>', a, b)],
  ['ge', (_, a, b) => compare('>=', a, b)],
  ['>=', (_, a, b) => compare('>=', a, b)],
  ['in', (budget, a, b) => contains(b, a, budget)],
  ['lower', (_, v) => typeof v === 'string' && v === v.toLowerCase()],
  ['upper', (_, v) => typeof v === 'string' && v === v.toUpperCase()],
  ['truthy', (_, v) => truthy(v)],
  ['falsy', (_, v) => !truthy(v)],
  ['escaped', (_) => false],
  ['filter', (_, v) => typeof v === 'string' && FILTERS.has(v)],
  ['test', (_, v) => typeof v === 'string' && TESTS.has(v)],
]);

export function runTest(budget: RenderBudget, name: unknown, value: unknown, args: unknown[]): boolean {
  if (name === undefined || name === null) return truthy(value);
  const t = typeof name === 'string' ? TESTS.get(name) : undefined;
  if (!t) throw new TemplateError(`unknown test '${str(name)}'`);
  return t(budget, value, ...args);
}

// =============================================================================================
// Filters
// =============================================================================================

/** A filter (`x | name(args)`): the render's budget, the value, the arguments. */
type Filter = (budget: RenderBudget, value: unknown, ...args: unknown[]) => unknown;

const list = listOf;

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!);
}

function toInt(v: unknown, def: unknown, base: number): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : def;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return def;
  const s = v.trim().replace(/_/g, '');
  if (base === 10) {
    if (/^[-+]?\d+$/.test(s)) return Number.parseInt(s, 10);
    if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s)) return Math.trunc(Number(s));
    return def;
  }
  const digits = s.replace(/^([-+]?)0[xob]/i, '$1');
  const n = Number.parseInt(digits, base);
  return Number.isNaN(n) ? def : n;
}

function toFloat(v: unknown, def: unknown): unknown {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return def;
  const s = v.trim().toLowerCase();
  if (/^[-+]?(inf|infinity)$/.test(s)) return s.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[-+]?nan$/.test(s)) return Number.NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(s) ? Number(s) : def;
}

function pyRound(v: number, precision: number, method: string): number {
  const f = 10 ** precision;
  const x = v * f;
  if (method === 'ceil') return Math.ceil(x) / f;
  if (method === 'floor') return Math.floor(x) / f;
  if (method !== 'common') throw new TemplateError("round method must be 'common', 'ceil' or 'floor'");
  const r = Math.round(x);
  // Python rounds halves to even.
  return (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r) / f;
}

/** Items of `value` mapped through `attribute` (or themselves), for sort/unique/min/max/sum/groupby. */
function keyed(attribute: unknown, caseSensitive: unknown): (x: unknown) => unknown {
  const get = attribute === undefined || attribute === null ? (x: unknown) => x : attrGetter(attribute);
  return caseSensitive
    ? get
    : (x) => {
        const v = get(x);
        return typeof v === 'string' ? v.toLowerCase() : v;
      };
}

function selectOrReject(keep: boolean, byAttr: boolean) {
  const name = `${keep ? 'select' : 'reject'}${byAttr ? 'attr' : ''}`;
  return (budget: RenderBudget, value: unknown, ...rest: unknown[]) => {
    const items = list(budget, value, name);
    const [pos] = splitArgs(rest);
    let get: (x: unknown) => unknown = (x) => x;
    let i = 0;
    if (byAttr) {
      if (pos.length === 0) throw new TemplateError(`${name}() needs an attribute name`);
      get = attrGetter(pos[i++]);
    }
    const test = pos[i++];
    const args = pos.slice(i);
    return items.filter((x) => runTest(budget, test, get(x), args) === keep);
  };
}

function mapFilter(budget: RenderBudget, value: unknown, ...rest: unknown[]): unknown[] {
  const items = list(budget, value, 'map');
  const [pos, kw] = splitArgs(rest);
  if (Object.hasOwn(kw, 'attribute')) {
    const get = attrGetter(kw.attribute);
    const def = kw.default;
    return items.map((x) => {
      const v = get(x);
      return v === undefined ? def : v;
    });
  }
  const name = pos[0];
  if (typeof name !== 'string' || !FILTERS.has(name)) throw new TemplateError(`map: unknown filter '${str(name)}'`);
  const args = pos.slice(1);
  if (Object.keys(kw).length) args.push(new KwArgs(kw));
  return items.map((x) => applyFilter(budget, name, x, args));
}

function truncate(_: RenderBudget, value: unknown, ...rest: unknown[]): string {
  const [len, killwords, end, leeway] = bind('truncate', rest, ['length', 'killwords', 'end', 'leeway'], [255, false, '...', 5]);
  const s = str(value);
  const n = intArg(len, 255, 'length');
  const e = str(end);
  if (codePointCount(s) <= n + intArg(leeway, 5, 'leeway')) return s;
  const cut = s.slice(0, Math.max(0, n - e.length));
  if (truthy(killwords)) return cut + e;
  const i = cut.lastIndexOf(' ');
  return (i > 0 ? cut.slice(0, i) : cut) + e;
}

function groupby(budget: RenderBudget, value: unknown, ...rest: unknown[]): unknown[][] {
  const [attribute, def, caseSensitive] = bind('groupby', rest, ['attribute', 'default', 'case_sensitive'], [undefined, undefined, false]);
  const items = list(budget, value, 'groupby');
  const get = attrGetter(attribute);
  const groups: { key: unknown; sortKey: unknown; items: unknown[] }[] = [];
  for (const x of items) {
    let k = get(x);
    if (k === undefined) k = def;
    const sk = !truthy(caseSensitive) && typeof k === 'string' ? k.toLowerCase() : k;
    budget.charge(groups.length);
    const g = groups.find((gr) => eq(gr.sortKey, sk, budget));
    if (g) g.items.push(x);
    else groups.push({ key: k, sortKey: sk, items: [x] });
  }
  groups.sort((a, b) => sortCompare(a.sortKey, b.sortKey));
  return groups.map((g) => [g.key, g.items]);
}

export const FILTERS: Map<string, Filter> = new Map<string, Filter>([
  ['abs', (_, v) => Math.abs(num(v, 'abs'))],
  ['attr', (_, v, ...a) => dataGet(v, keyOf(bind('attr', a, ['name'], [undefined])[0]) ?? '')],
  [
    'batch',
    (budget, v, ...a) => {
      const [n, fill] = bind('batch', a, ['linecount', 'fill_with'], [undefined, null]);
      const size = sizeArg(n, 1, 'linecount');
      if (size < 1) throw new TemplateError('batch size must be at least 1');
      const items = list(budget, v, 'batch');
      const out: unknown[][] = [];
      for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
      const lastRow = out[out.length - 1];
      if (lastRow && fill !== null && fill !== undefined) while (lastRow.length < size) lastRow.push(fill);
      return out;
    },
  ],
  ['capitalize', (_, v) => capitalize(str(v))],
  ['center', (_, v, ...a) => pad(str(v), sizeArg(bind('center', a, ['width'], [80])[0], 80, 'width'), ' ', '^')],
  [
    'default',
    (_, v, ...a) => {
      const [def, boolean] = bind('default', a, ['default_value', 'boolean'], ['', false]);
      return v === undefined || (truthy(boolean) && !truthy(v)) ? def : v;
    },
  ],
  [
    'dictsort',
    (budget, v, ...a) => {
      const [cs, by, rev] = bind('dictsort', a, ['case_sensitive', 'by', 'reverse'], [false, 'key', false]);
      if (!isPlainObject(v)) throw new TemplateError('dictsort expects a dict');
      if (by !== 'key' && by !== 'value') throw new TemplateError("dictsort: 'by' must be 'key' or 'value'");
      const entries = Object.entries(v).map(([k, x]) => [k, dataOnly(x)] as [string, unknown]);
      budget.charge(entries.length);
      const pick = (e: [string, unknown]) => {
        const x = by === 'key' ? e[0] : e[1];
        return !truthy(cs) && typeof x === 'string' ? x.toLowerCase() : x;
      };
      entries.sort((x, y) => sortCompare(pick(x), pick(y)));
      return truthy(rev) ? entries.reverse() : entries;
    },
  ],
  ['escape', (_, v) => htmlEscape(str(v))],
  ['first', (_, v) => (typeof v === 'string' ? firstChar(v) : dataOnly(iterable(v, 'first')[0]))],
  ['float', (_, v, ...a) => toFloat(v, bind('float', a, ['default'], [0])[0])],
  ['forceescape', (_, v) => htmlEscape(str(v))],
  ['format', (_, v, ...a) => percentFormat(str(v), a)],
  [
    'fromjson',
    (_, v) => {
      try {
        return JSON.parse(str(v)) as unknown;
      } catch {
        throw new TemplateError('fromjson: the value is not valid JSON');
      }
    },
  ],
  ['groupby', groupby],
  [
    'indent',
    (budget, v, ...a) => {
      const [w, first, blank] = bind('indent', a, ['width', 'first', 'blank'], [4, false, false]);
      const sp = typeof w === 'string' ? w : ' '.repeat(sizeArg(w, 4, 'width'));
      const lines = str(v).split('\n');
      budget.ensureRoom(lines.length * (sp.length + 1) + str(v).length);
      return lines.map((l, i) => ((i === 0 && !truthy(first)) || (!truthy(blank) && l.trim() === '') ? l : sp + l)).join('\n');
    },
  ],
  [
    'int',
    (_, v, ...a) => {
      const [def, base] = bind('int', a, ['default', 'base'], [0, 10]);
      return toInt(v, def, intArg(base, 10, 'base'));
    },
  ],
  [
    'items',
    (_, v) => {
      if (v === undefined || v === null) return [];
      if (!isPlainObject(v)) throw new TemplateError(`items expects a dict, not ${describeType(v)}`);
      return Object.entries(v).map(([k, x]) => [k, dataOnly(x)]);
    },
  ],
  [
    'join',
    (budget, v, ...a) => {
      const [d, attribute] = bind('join', a, ['d', 'attribute'], ['', null]);
      let items = list(budget, v, 'join');
      if (attribute !== null && attribute !== undefined) items = items.map(attrGetter(attribute));
      return joinText(budget, items, str(d));
    },
  ],
  [
    'last',
    (_, v) => {
      if (typeof v === 'string') return lastChar(v);
      const items = iterable(v, 'last');
      return dataOnly(items[items.length - 1]);
    },
  ],
  [
    'length',
    (_, v) => {
      if (typeof v === 'string') return codePointCount(v);
      if (Array.isArray(v)) return v.length;
      if (isPlainObject(v)) return Object.keys(v).length;
      if (v === undefined || v === null) return 0;
      throw new TemplateError(`object of type '${describeType(v)}' has no length`);
    },
  ],
  ['list', (budget, v) => [...list(budget, v, 'list')].map(dataOnly)],
  ['lower', (_, v) => str(v).toLowerCase()],
  ['map', mapFilter],
  [
    'max',
    (budget, v, ...a) => {
      const [cs, attribute] = bind('max', a, ['case_sensitive', 'attribute'], [false, null]);
      const items = list(budget, v, 'max');
      const k = keyed(attribute, truthy(cs));
      let best: unknown;
      for (const x of items) if (best === undefined || sortCompare(k(x), k(best)) > 0) best = x;
      return dataOnly(best);
    },
  ],
  [
    'min',
    (budget, v, ...a) => {
      const [cs, attribute] = bind('min', a, ['case_sensitive', 'attribute'], [false, null]);
      const items = list(budget, v, 'min');
      const k = keyed(attribute, truthy(cs));
      let best: unknown;
      for (const x of items) if (best === undefined || sortCompare(k(x), k(best)) < 0) best = x;
      return dataOnly(best);
    },
  ],
  ['nl2br', (_, v) => str(v).replace(/\r\n|\n/g, '<br />\n')],
  ['pprint', (_, v) => (typeof v === 'string' ? `'${v}'` : toJson(v, 2))],
  ['reject', selectOrReject(false, false)],
  ['rejectattr', selectOrReject(false, true)],
  [
    'replace',
    (budget, v, ...a) => {
      const [o, n, c] = bind('replace', a, ['old', 'new', 'count'], [undefined, undefined, null]);
      return pyReplace(budget, str(v), o, n, c);
    },
  ],
  [
    'reverse',
    (budget, v) => (typeof v === 'string' ? Array.from(v).reverse().join('') : [...list(budget, v, 'reverse')].reverse().map(dataOnly)),
  ],
  [
    'round',
    (_, v, ...a) => {
      const [p, method] = bind('round', a, ['precision', 'method'], [0, 'common']);
      return pyRound(num(v, 'round'), Math.min(intArg(p, 0, 'precision'), 20), str(method));
    },
  ],
  ['safe', (_, v) => str(v)],
  ['select', selectOrReject(true, false)],
  ['selectattr', selectOrReject(true, true)],
  [
    'slice',
    (budget, v, ...a) => {
      const [n, fill] = bind('slice', a, ['slices', 'fill_with'], [undefined, null]);
      const slices = sizeArg(n, 1, 'slices');
      if (slices < 1) throw new TemplateError('slice count must be at least 1');
      const items = list(budget, v, 'slice');
      const per = Math.floor(items.length / slices);
      const extra = items.length % slices;
      const out: unknown[][] = [];
      let offset = 0;
      for (let i = 0; i < slices; i++) {
        const size = per + (i < extra ? 1 : 0);
        const part = items.slice(offset, offset + size);
        offset += size;
        if (fill !== null && fill !== undefined && i >= extra) part.push(fill);
        out.push(part);
      }
      return out;
    },
  ],
  [
    'sort',
    (budget, v, ...a) => {
      const [rev, cs, attribute] = bind('sort', a, ['reverse', 'case_sensitive', 'attribute'], [false, false, null]);
      const items = [...list(budget, v, 'sort')];
      const k = keyed(attribute, truthy(cs));
      items.sort((x, y) => sortCompare(k(x), k(y)));
      return (truthy(rev) ? items.reverse() : items).map(dataOnly);
    },
  ],
  ['string', (_, v) => str(v)],
  [
    'striptags',
    (_, v) =>
      str(v)
        .replace(/<!--[\s\S]*?-->|<\/?[a-zA-Z][^>]*>/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
  ],
  [
    'sum',
    (budget, v, ...a) => {
      const [attribute, start] = bind('sum', a, ['attribute', 'start'], [null, 0]);
      let items = list(budget, v, 'sum');
      if (attribute !== null && attribute !== undefined) items = items.map(attrGetter(attribute));
      return items.reduce<number>((acc, x) => acc + num(x, 'sum'), num(start, 'sum'));
    },
  ],
  ['title', (_, v) => titleCase(str(v))],
  [
    'tojson',
    (_, v, ...a) => {
      const [indent] = bind('tojson', a, ['indent'], [undefined]);
      return toJson(v, indent === undefined || indent === null ? undefined : Math.min(intArg(indent, 0, 'indent'), 10));
    },
  ],
  ['trim', (_, v, ...a) => trimChars(str(v), bind('trim', a, ['chars'], [null])[0], true, true)],
  ['truncate', truncate],
  [
    'unique',
    (budget, v, ...a) => {
      const [cs, attribute] = bind('unique', a, ['case_sensitive', 'attribute'], [false, null]);
      const items = list(budget, v, 'unique');
      const k = keyed(attribute, truthy(cs));
      const seen = new Set<unknown>();
      const out: unknown[] = [];
      for (const x of items) {
        const kx = k(x);
        const id = typeof kx === 'object' && kx !== null ? `json:${toJson(kx)}` : kx;
        if (!seen.has(id)) {
          seen.add(id);
          out.push(dataOnly(x));
        }
      }
      return out;
    },
  ],
  ['upper', (_, v) => str(v).toUpperCase()],
  [
    'urlencode',
    (_, v) => {
      if (isPlainObject(v) || Array.isArray(v)) {
        const pairs = isPlainObject(v) ? Object.entries(v) : (v as unknown[]).map((p) => (Array.isArray(p) ? p : [p, '']));
        return pairs.map(([k, x]) => `${encodeURIComponent(str(k))}=${encodeURIComponent(str(x))}`).join('&');
      }
      return encodeURIComponent(str(v)).replace(/%2F/g, '/');
    },
  ],
  ['wordcount', (_, v) => (str(v).match(/\w+/gu) ?? []).length],
  ['bool', (_, v) => (typeof v === 'string' ? ['true', 'yes', 'on', '1'].includes(v.trim().toLowerCase()) : truthy(v))],
  ['accumulated', (_, v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v])],
]);
/** Filters that do not read the whole of a string value (the others are charged its length first). */
const NO_SCAN_FILTERS: ReadonlySet<string> = new Set(['default', 'd', 'safe', 'string', 'first', 'last', 'attr', 'accumulated']);

/** Runs a known filter, charging the string it reads and the strings and lists it returns. */
export function applyFilter(budget: RenderBudget, name: string, value: unknown, args: unknown[]): unknown {
  if (typeof value === 'string' && !NO_SCAN_FILTERS.has(name)) budget.reads(value.length);
  const result = FILTERS.get(name)!(budget, value, ...args);
  budget.built(result, value);
  return result;
}

// Aliases, as Jinja and nunjucks name them.
for (const [alias, name] of [
  ['d', 'default'],
  ['e', 'escape'],
  ['count', 'length'],
  ['dump', 'tojson'],
] as const)
  FILTERS.set(alias, FILTERS.get(name)!);

/**
 * Names of the whitelisted globals and filters, for docs and error messages (methods of strings,
 * dicts and lists are listed in the docs separately).
 */
export const TEMPLATE_HELPERS: readonly string[] = Object.freeze([...GLOBALS.keys(), ...FILTERS.keys()].sort());
