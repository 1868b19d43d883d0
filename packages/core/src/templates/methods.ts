/**
 * Methods of strings, dicts and lists (`s.upper()`, `d.get(k)`, `l.index(x)`), Python formatting
 * (`str.format`, `%`), and the member accessor: the only way a template reads anything.
 */
import { TemplateError } from '../errors.js';
import type { RenderBudget } from './budget.js';
import {
  BLOCKED_KEYS,
  bind,
  blockedKey,
  codePointCount,
  dataOnly,
  describeType,
  eq,
  Helper,
  type HelperFn,
  intArg,
  isPlainObject,
  joinText,
  keyOf,
  listOf,
  noArgs,
  num,
  numStr,
  SURROGATE,
  sizeArg,
  splitArgs,
  str,
} from './values.js';

/** A method: the render's budget, the receiver, the call's arguments. */
type Method<T> = (budget: RenderBudget, self: T, args: unknown[]) => unknown;

export function trimChars(s: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) {
    if (left && right) return s.trim();
    return left ? s.trimStart() : s.trimEnd();
  }
  // A set, so stripping a long text of many characters stays linear.
  const set = new Set(str(chars).split(''));
  let a = 0;
  let b = s.length;
  while (left && a < b && set.has(s[a]!)) a++;
  while (right && b > a && set.has(s[b - 1]!)) b--;
  return s.slice(a, b);
}

function pySplit(budget: RenderBudget, s: string, sep: unknown, maxsplit: unknown, fromRight: boolean): string[] {
  const max = intArg(maxsplit, -1, 'maxsplit');
  if (sep === undefined || sep === null) {
    const words: string[] = [];
    const re = /\S+/g;
    const spans: [number, number][] = [];
    for (let m = re.exec(s); m; m = re.exec(s)) {
      budget.charge(1);
      spans.push([m.index, m.index + m[0].length]);
    }
    if (max < 0 || spans.length <= max + 1) return spans.map(([a, b]) => s.slice(a, b));
    if (fromRight) {
      const keep = spans.slice(spans.length - max);
      words.push(s.slice(spans[0]![0], spans[spans.length - max - 1]![1]));
      for (const [a, b] of keep) words.push(s.slice(a, b));
      return words;
    }
    for (const [a, b] of spans.slice(0, max)) words.push(s.slice(a, b));
    words.push(s.slice(spans[max]![0], spans[spans.length - 1]![1]));
    return words;
  }
  const d = str(sep);
  if (d === '') throw new TemplateError('empty separator');
  // Charged before the pieces are listed.
  countSub(budget, s, d);
  const parts = s.split(d);
  if (max < 0 || parts.length <= max + 1) return parts;
  if (fromRight) return [parts.slice(0, parts.length - max).join(d), ...parts.slice(parts.length - max)];
  return [...parts.slice(0, max), parts.slice(max).join(d)];
}

/**
 * Python `str.replace`. The replacements are counted first (each charged as a step) and the result's
 * length checked, before anything is built.
 */
export function pyReplace(budget: RenderBudget, s: string, old: unknown, replacement: unknown, count: unknown): string {
  const a = str(old);
  const b = str(replacement);
  let n = intArg(count, -1, 'count');
  const found = countSub(budget, s, a);
  const done = n < 0 ? found : Math.min(n, found);
  budget.ensureRoom(s.length + (b.length - a.length) * done);
  if (a === '') {
    const chars = Array.from(s);
    let out = '';
    for (let i = 0; i <= chars.length; i++) {
      if (n !== 0) {
        out += b;
        n--;
      }
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  if (n < 0) return s.split(a).join(b);
  let out = '';
  let from = 0;
  while (n > 0) {
    const i = s.indexOf(a, from);
    if (i < 0) break;
    out += s.slice(from, i) + b;
    from = i + a.length;
    n--;
  }
  return out + s.slice(from);
}

/** Occurrences of `sub` in `s`, each charged as a step (so counting a million matches is work). */
function countSub(budget: RenderBudget, s: string, sub: string): number {
  if (sub === '') {
    const n = codePointCount(s) + 1;
    budget.charge(n);
    return n;
  }
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) {
    n++;
    budget.charge(1);
  }
  return n;
}

export function pad(s: string, width: number, fill: string, align: '<' | '>' | '^'): string {
  const len = codePointCount(s);
  if (width <= len) return s;
  const total = width - len;
  if (align === '<') return s + fill.repeat(total);
  if (align === '>') return fill.repeat(total) + s;
  const left = Math.floor(total / 2);
  return fill.repeat(left) + s + fill.repeat(total - left);
}

const fillArg = (v: unknown): string => {
  if (v === undefined || v === null) return ' ';
  const f = str(v);
  if (Array.from(f).length !== 1) throw new TemplateError('the fill character must be exactly one character long');
  return f;
};

export const titleCase = (s: string) => s.replace(/\p{L}+/gu, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase());
export const capitalize = (s: string) => (s ? s.charAt(0).toUpperCase() + s.slice(1).toLowerCase() : s);

/** Python format-spec mini-language, for the common cases: `[[fill]align][sign][0][width][,][.precision][type]`. */
export function formatSpec(v: unknown, spec: string): string {
  const m = /^(?:(.)?([<>^=]))?([-+ ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/u.exec(spec);
  if (!m) throw new TemplateError(`invalid format specifier '${spec}'`);
  const [, fillCh, align, sign, , zero, widthS, group, precS, type] = m;
  const width = widthS ? sizeArg(Number(widthS), 0, 'format width') : 0;
  const prec = precS === undefined ? undefined : Math.min(Number(precS), 100);
  let body: string;
  let negative = false;
  if (type === 's' || (type === undefined && typeof v === 'string')) {
    body = str(v);
    if (prec !== undefined) body = body.slice(0, prec);
  } else if (type === 'c') {
    body = String.fromCodePoint(num(v, 'format'));
  } else {
    let n = num(v, 'format');
    negative = n < 0 || Object.is(n, -0);
    n = Math.abs(n);
    switch (type) {
      case 'd':
      case 'n':
        body = Math.trunc(n).toString();
        break;
      case 'b':
        body = Math.trunc(n).toString(2);
        break;
      case 'o':
        body = Math.trunc(n).toString(8);
        break;
      case 'x':
        body = Math.trunc(n).toString(16);
        break;
      case 'X':
        body = Math.trunc(n).toString(16).toUpperCase();
        break;
      case 'e':
      case 'E':
        body = n.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        if (type === 'E') body = body.toUpperCase();
        break;
      case 'f':
      case 'F':
        body = n.toFixed(prec ?? 6);
        break;
      case '%':
        body = `${(n * 100).toFixed(prec ?? 6)}%`;
        break;
      case 'g':
      case 'G':
        body = String(Number(n.toPrecision(prec || 6)));
        break;
      default:
        body = prec === undefined ? numStr(n) : String(Number(n.toPrecision(Math.max(prec, 1))));
    }
    if (group) {
      const [int, frac] = body.split('.');
      body = int!.replace(/\B(?=(\d{3})+(?!\d))/g, group) + (frac === undefined ? '' : `.${frac}`);
    }
  }
  const signStr = negative ? '-' : sign === '+' ? '+' : sign === ' ' ? ' ' : '';
  if (zero && !align) return signStr + body.padStart(Math.max(0, width - signStr.length), '0');
  if (align === '=') return signStr + pad(body, width - signStr.length, fillCh ?? ' ', '>');
  const defaultAlign = typeof v === 'string' || type === 's' ? '<' : '>';
  return pad(signStr + body, width, fillCh ?? ' ', (align as '<' | '>' | '^' | undefined) ?? defaultAlign);
}

/** `'{} and {name:>5}'.format(a, name=b)`: auto and manual numbering, names, `.attr`/`[key]`, specs, `!s`/`!r`. */
function pyFormat(s: string, args: unknown[]): string {
  const [pos, kw] = splitArgs(args);
  let auto = 0;
  return s.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, field: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const m = /^([^.[!:]*)((?:\.[^.[!:]+|\[[^\]]*\])*)(?:!([rsa]))?(?::(.*))?$/s.exec(field ?? '');
    if (!m) throw new TemplateError(`invalid format field '{${field}}'`);
    const [, name, path, conv, spec] = m;
    let v: unknown;
    if (name === '') v = pos[auto++];
    else if (/^\d+$/.test(name!)) v = pos[Number(name)];
    else v = Object.hasOwn(kw, name!) ? kw[name!] : undefined;
    for (const part of path!.match(/\.[^.[]+|\[[^\]]*\]/g) ?? []) {
      const key = part.startsWith('.') ? part.slice(1) : part.slice(1, -1);
      v = dataGet(v, /^\d+$/.test(key) ? Number(key) : key);
    }
    if (conv === 'r') v = typeof v === 'string' ? `'${v}'` : str(v);
    else if (conv) v = str(v);
    return spec ? formatSpec(v, spec) : str(v);
  });
}

/** Python `%` formatting (the `format` filter): `%s`, `%d`, `%.2f`, `%(name)s`, `%%`… */
export function percentFormat(fmt: string, args: unknown[]): string {
  const [pos, kw] = splitArgs(args);
  const named = pos.length === 1 && isPlainObject(pos[0]) ? pos[0] : kw;
  let i = 0;
  return fmt.replace(/%(?:\(([^)]*)\))?([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdifrxXeEgGc%])/g, (_m, name, flags: string, w, p, t: string) => {
    if (t === '%') return '%';
    const v = name !== undefined ? (Object.hasOwn(named, name) ? named[name] : undefined) : pos[i++];
    const align = flags.includes('-') ? '<' : flags.includes('0') && t !== 's' ? '' : '>';
    const sign = flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
    const type = t === 'i' || t === 'u' ? 'd' : t === 'r' ? 's' : t;
    const spec = `${align ? ` ${align}` : ''}${sign}${!align ? '0' : ''}${w ?? ''}${p !== undefined ? `.${p}` : ''}${type}`;
    return formatSpec(t === 'r' && typeof v === 'string' ? `'${v}'` : v, spec);
  });
}

/** A method that takes no arguments. */
const noArg =
  <T>(name: string, f: (self: T, budget: RenderBudget) => unknown): Method<T> =>
  (budget, self, args) => {
    noArgs(name, args);
    return f(self, budget);
  };

const STRING_METHODS = new Map<string, Method<string>>([
  ['upper', noArg('upper', (s) => s.toUpperCase())],
  ['lower', noArg('lower', (s) => s.toLowerCase())],
  ['casefold', noArg('casefold', (s) => s.toLowerCase())],
  ['swapcase', noArg('swapcase', (s) => Array.from(s, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(''))],
  ['title', noArg('title', (s) => titleCase(s))],
  ['capitalize', noArg('capitalize', (s) => capitalize(s))],
  ['strip', (_budget, s, a) => trimChars(s, bind('strip', a, ['chars'], [null])[0], true, true)],
  ['lstrip', (_budget, s, a) => trimChars(s, bind('lstrip', a, ['chars'], [null])[0], true, false)],
  ['rstrip', (_budget, s, a) => trimChars(s, bind('rstrip', a, ['chars'], [null])[0], false, true)],
  [
    'startswith',
    (_budget, s, a) => {
      const [p] = bind('startswith', a, ['prefix'], [undefined]);
      return Array.isArray(p) ? p.some((x) => s.startsWith(str(x))) : s.startsWith(str(p));
    },
  ],
  [
    'endswith',
    (_budget, s, a) => {
      const [p] = bind('endswith', a, ['suffix'], [undefined]);
      return Array.isArray(p) ? p.some((x) => s.endsWith(str(x))) : s.endsWith(str(p));
    },
  ],
  [
    'split',
    (budget, s, a) => {
      const [sep, max] = bind('split', a, ['sep', 'maxsplit'], [null, -1]);
      return pySplit(budget, s, sep, max, false);
    },
  ],
  [
    'rsplit',
    (budget, s, a) => {
      const [sep, max] = bind('rsplit', a, ['sep', 'maxsplit'], [null, -1]);
      return pySplit(budget, s, sep, max, true);
    },
  ],
  [
    'splitlines',
    (_budget, s, a) => {
      noArgs('splitlines', a);
      const lines = s.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/);
      if (lines.length && lines[lines.length - 1] === '') lines.pop();
      return lines;
    },
  ],
  [
    'replace',
    (budget, s, a) => {
      const [o, n, c] = bind('replace', a, ['old', 'new', 'count'], [undefined, undefined, -1]);
      return pyReplace(budget, s, o, n, c);
    },
  ],
  ['find', (_budget, s, a) => s.indexOf(str(bind('find', a, ['sub'], [undefined])[0]))],
  ['rfind', (_budget, s, a) => s.lastIndexOf(str(bind('rfind', a, ['sub'], [undefined])[0]))],
  [
    'index',
    (_budget, s, a) => {
      const i = s.indexOf(str(bind('index', a, ['sub'], [undefined])[0]));
      if (i < 0) throw new TemplateError('substring not found');
      return i;
    },
  ],
  ['count', (budget, s, a) => countSub(budget, s, str(bind('count', a, ['sub'], [undefined])[0]))],
  [
    'join',
    (budget, s, a) => {
      const items = listOf(budget, bind('join', a, ['iterable'], [undefined])[0], 'join');
      return joinText(budget, items, s);
    },
  ],
  ['isdigit', noArg('isdigit', (s) => /^\p{Nd}+$/u.test(s))],
  ['isdecimal', noArg('isdecimal', (s) => /^\p{Nd}+$/u.test(s))],
  ['isnumeric', noArg('isnumeric', (s) => /^\p{N}+$/u.test(s))],
  ['isalpha', noArg('isalpha', (s) => /^\p{L}+$/u.test(s))],
  ['isalnum', noArg('isalnum', (s) => /^[\p{L}\p{N}]+$/u.test(s))],
  ['isspace', noArg('isspace', (s) => /^\s+$/u.test(s))],
  ['isupper', noArg('isupper', (s) => s !== s.toLowerCase() && s === s.toUpperCase())],
  ['islower', noArg('islower', (s) => s !== s.toUpperCase() && s === s.toLowerCase())],
  ['istitle', noArg('istitle', (s) => s !== s.toLowerCase() && s === titleCase(s))],
  [
    'zfill',
    (_budget, s, a) => {
      const w = sizeArg(bind('zfill', a, ['width'], [0])[0], 0, 'width');
      const sign = s.startsWith('-') || s.startsWith('+') ? s[0]! : '';
      return sign + s.slice(sign.length).padStart(w - sign.length, '0');
    },
  ],
  [
    'center',
    (_budget, s, a) => {
      const [w, f] = bind('center', a, ['width', 'fillchar'], [0, ' ']);
      return pad(s, sizeArg(w, 0, 'width'), fillArg(f), '^');
    },
  ],
  [
    'ljust',
    (_budget, s, a) => {
      const [w, f] = bind('ljust', a, ['width', 'fillchar'], [0, ' ']);
      return pad(s, sizeArg(w, 0, 'width'), fillArg(f), '<');
    },
  ],
  [
    'rjust',
    (_budget, s, a) => {
      const [w, f] = bind('rjust', a, ['width', 'fillchar'], [0, ' ']);
      return pad(s, sizeArg(w, 0, 'width'), fillArg(f), '>');
    },
  ],
  ['format', (_budget, s, a) => pyFormat(s, a)],
]);

const DICT_METHODS = new Map<string, Method<Record<string, unknown>>>([
  [
    'get',
    (_budget, d, a) => {
      const [k, def] = bind('get', a, ['key', 'default'], [undefined, null]);
      const key = keyOf(k);
      return key !== undefined && Object.hasOwn(d, key) ? dataOnly(d[key]) : def;
    },
  ],
  ['keys', noArg('keys', (d: Record<string, unknown>) => Object.keys(d))],
  ['values', noArg('values', (d: Record<string, unknown>) => Object.values(d).map(dataOnly))],
  ['items', noArg('items', (d: Record<string, unknown>) => Object.entries(d).map(([k, v]) => [k, dataOnly(v)]))],
]);

const LIST_METHODS = new Map<string, Method<unknown[]>>([
  [
    'index',
    (budget, l, a) => {
      const [v] = bind('index', a, ['value'], [undefined]);
      budget.charge(l.length);
      const i = l.findIndex((x) => eq(x, v, budget));
      if (i < 0) throw new TemplateError(`${str(v)} is not in list`);
      return i;
    },
  ],
  [
    'count',
    (budget, l, a) => {
      const [v] = bind('count', a, ['value'], [undefined]);
      budget.charge(l.length);
      return l.filter((x) => eq(x, v, budget)).length;
    },
  ],
]);

/** String methods that do not read the whole string (the others are charged its length first). */
const NO_SCAN_METHODS: ReadonlySet<string> = new Set(['startswith', 'endswith']);
for (const [name, method] of STRING_METHODS)
  if (!NO_SCAN_METHODS.has(name))
    STRING_METHODS.set(name, (budget, s, args) => {
      budget.reads(s.length);
      return method(budget, s, args);
    });

/** Names a template may call as methods (`x.name(…)`); checked when compiling. */
export const METHOD_NAMES: ReadonlySet<string> = new Set([
  ...STRING_METHODS.keys(),
  ...DICT_METHODS.keys(),
  ...LIST_METHODS.keys(),
  'next',
  'reset',
]);

// =============================================================================================
// The member accessor: the only way a template reads anything
// =============================================================================================

/** Normalises a (possibly negative) index; undefined when out of range or not an integer. */
function index(i: number, length: number): number | undefined {
  if (!Number.isInteger(i)) return undefined;
  const j = i < 0 ? length + i : i;
  return j >= 0 && j < length ? j : undefined;
}

/**
 * `obj.key` and `obj[key]`. A dict key wins over a method of the same name (`order['items']`,
 * `order.items`); lists and strings take negative indexes; anything that is not an own data
 * property or a whitelisted method is undefined. Blocked keys and lookups on functions throw.
 */
export function memberLookup(obj: unknown, key: unknown): unknown {
  if (obj === undefined || obj === null) return undefined;
  if (typeof key === 'number') {
    if (typeof obj === 'string') {
      const i = index(key, obj.length);
      return i === undefined ? undefined : obj[i];
    }
    if (Array.isArray(obj)) {
      const i = index(key, obj.length);
      return i === undefined ? undefined : dataOnly(obj[i]);
    }
    if (isPlainObject(obj)) {
      const k = String(key);
      return Object.hasOwn(obj, k) ? dataOnly(obj[k]) : undefined;
    }
    if (obj instanceof Helper || typeof obj === 'function') throw new TemplateError('a function has no items');
    return undefined;
  }
  if (typeof key !== 'string') return undefined;
  if (BLOCKED_KEYS.has(key)) throw blockedKey(key);
  switch (typeof obj) {
    case 'string': {
      const m = STRING_METHODS.get(key);
      return m ? new Helper(m as HelperFn, obj) : undefined;
    }
    case 'object': {
      if (Array.isArray(obj)) {
        const m = LIST_METHODS.get(key);
        return m ? new Helper(m as HelperFn, obj) : undefined;
      }
      if (isPlainObject(obj)) {
        if (Object.hasOwn(obj, key)) return dataOnly(obj[key]);
        const m = DICT_METHODS.get(key);
        return m ? new Helper(m as HelperFn, obj) : undefined;
      }
      if (obj instanceof Helper) throw new TemplateError(`a function has no attribute '${key}'`);
      return undefined;
    }
    case 'function':
      throw new TemplateError(`a function has no attribute '${key}'`);
    default:
      return undefined;
  }
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Python slices: `s[1:]`, `l[-3:]`, `l[::-1]`. */
export function slice(budget: RenderBudget, obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  if (obj === undefined || obj === null) return undefined;
  const isStr = typeof obj === 'string';
  if (!isStr && !Array.isArray(obj)) throw new TemplateError(`${describeType(obj)} cannot be sliced`);
  let text = obj as string;
  // `s[:n]`, `s[a:n]`: only the first n code points matter, and they lie within 2n code units.
  if (
    isStr &&
    (step === undefined || step === null || step === 1) &&
    isIndex(stop) &&
    (start === undefined || start === null || isIndex(start))
  )
    text = text.slice(0, 2 * stop);
  if (isStr) budget.reads(text.length);
  // Python indexes strings by code point; without surrogate pairs, code units are code points.
  const seq: string | readonly unknown[] = isStr ? (SURROGATE.test(text) ? Array.from(text) : text) : (obj as unknown[]);
  const len = seq.length;
  const st = intArg(step, 1, 'slice step');
  if (st === 0) throw new TemplateError('slice step cannot be zero');
  const norm = (v: unknown, def: number, lo: number, hi: number) => {
    if (v === undefined || v === null) return def;
    let i = intArg(v, def, 'slice index');
    if (i < 0) i += len;
    return Math.min(Math.max(i, lo), hi);
  };
  const [a, b] =
    st > 0 ? [norm(start, 0, 0, len), norm(stop, len, 0, len)] : [norm(start, len - 1, -1, len - 1), norm(stop, -1, -1, len - 1)];
  const count = Math.max(0, Math.ceil((b - a) / st));
  budget.charge(count);
  if (isStr) budget.builtText(count);
  else budget.builtList(count);
  if (st === 1) return typeof seq === 'string' ? seq.slice(a, b) : isStr ? seq.slice(a, b).join('') : seq.slice(a, b).map(dataOnly);
  const out: unknown[] = [];
  if (st > 0) for (let i = a; i < b; i += st) out.push(seq[i]);
  else for (let i = a; i > b; i += st) out.push(seq[i]);
  return isStr ? out.join('') : out.map(dataOnly);
}

/** Reads a member as data (for `attribute=` arguments): helpers (methods) read as undefined. */
export function dataGet(obj: unknown, key: string | number): unknown {
  const v = memberLookup(obj, key);
  return v instanceof Helper ? undefined : v;
}

/** Follows a dotted path (`attribute='user.name'`, `'items.0'`). */
export function attrGetter(attribute: unknown): (x: unknown) => unknown {
  if (typeof attribute === 'number') return (x) => dataGet(x, attribute);
  if (typeof attribute !== 'string') throw new TemplateError(`attribute must be a string, not ${describeType(attribute)}`);
  const parts = attribute.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  for (const p of parts) if (typeof p === 'string' && BLOCKED_KEYS.has(p)) throw blockedKey(p);
  if (parts.length === 1) {
    const p = parts[0]!;
    return (x) => dataGet(x, p);
  }
  return (x) => {
    let o = x;
    for (const p of parts) o = dataGet(o, p);
    return o;
  };
}
