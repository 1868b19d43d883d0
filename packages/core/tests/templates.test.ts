import nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { templateVars } from '../src/context-view.js';
import { TemplateError } from '../src/errors.js';
import { build } from '../src/templates/compiler.js';
import {
  compileTemplate,
  contextReadsOf,
  evaluateCondition,
  isTemplate,
  renderAgain,
  renderTemplate,
  renderValue,
  TEMPLATE_HELPERS,
  type TemplateVars,
  validateTemplate,
} from '../src/templates/index.js';

/** Fresh variables for each use, shaped as the engine builds them (newest values + histories). */
const vars = (): TemplateVars => ({
  context: {
    s: 'Hello World',
    n: 5,
    zero: 0,
    empty: [],
    emptyDict: {},
    flag: true,
    x: { a: 1, b: 'two' },
    list: [3, 1, 2],
    order: { items: ['apple', 'pear'], keys: 'k', total: 3, id: 'ORD-1' },
    user: { tier: 'premium', credits: 10, name: 'Ada' },
    votes: [{ vote: 'approve' }, { vote: 'reject' }, { vote: 'approve' }],
    items: { a: 1 },
    worker_result: { ok: 'c' },
    __operational__: { nodes: { Loop: 2 }, signals: ['START', 'A_DONE'], llm_calls: 1 },
  },
  history: {
    s: ['Hi', 'Hello World'],
    n: [1, 5],
    list: [[3, 1, 2]],
    items: [{ a: 0 }, { a: 1 }],
    worker_result: [{ ok: 'a' }, { ok: 'b' }, { ok: 'c' }],
  },
  result: { status: 'ok', errors: [] },
});

const r = (tpl: string, v: TemplateVars = vars()) => renderTemplate(tpl, v);
const cond = (tpl: string, v: TemplateVars = vars()) => evaluateCondition(tpl, v);

const g = globalThis as { __pwned?: unknown };
afterEach(() => {
  delete g.__pwned;
});

describe('isTemplate, compileTemplate and the cache', () => {
  it('recognises template syntax', () => {
    expect(isTemplate('{{ x }}')).toBe(true);
    expect(isTemplate('{% if x %}{% endif %}')).toBe(true);
    expect(isTemplate('plain text, even with { braces }')).toBe(false);
  });

  it('compiles each source once', () => {
    const a = compileTemplate('{{ context.n + 1 }}');
    expect(compileTemplate('{{ context.n + 1 }}')).toBe(a);
    expect(a.render(vars())).toBe('6');
  });

  it('keeps its size bounded, evicting cold templates and sparing used ones once', () => {
    const cold = compileTemplate('{{ "cold" }}');
    const hot = compileTemplate('{{ "hot" }}');
    // Used again since it was compiled: spared the first time it comes up for eviction.
    expect(compileTemplate('{{ "hot" }}')).toBe(hot);
    for (let i = 0; i < 5200; i++) compileTemplate(`{{ ${i} }}`);
    expect(compileTemplate('{{ "cold" }}')).not.toBe(cold);
    expect(compileTemplate('{{ "hot" }}')).toBe(hot);
  });

  it('caches compile errors too, and throws them every time', () => {
    expect(() => compileTemplate('{{ x | no_such_filter }}')).toThrow(TemplateError);
    expect(() => compileTemplate('{{ x | no_such_filter }}')).toThrow(/no_such_filter/);
  });

  it('renders plain text as it is (minus a single trailing newline, as Jinja does)', () => {
    expect(r('no template here')).toBe('no template here');
    expect(r('Line one\nline two\n')).toBe('Line one\nline two');
    expect(r('{{ context.n }}\n\n')).toBe('5\n');
    expect(r('a\r\nb')).toBe('a\nb');
  });

  it('lists the helpers for the docs', () => {
    for (const name of ['range', 'dict', 'accumulated', 'tojson', 'selectattr', 'length', 'default', 'join'])
      expect(TEMPLATE_HELPERS).toContain(name);
    expect(TEMPLATE_HELPERS).not.toContain('accField');
  });
});

describe('the Jinja compatibility layer', () => {
  it.each([
    // dict keys before methods
    ["{{ context.order['items'] | join(',') }}", 'apple,pear'],
    ['{{ context.order.items | length }}', '2'],
    ["{{ context.order['keys'] }}", 'k'],
    ["{{ context.order['line_items'] | length == 0 or context.order.total <= 0 }}", 'True'],
    // dict methods when there is no such key
    ["{{ context.x.get('a') }}|{{ context.x.get('zz') }}|{{ context.x.get('zz', 7) }}", '1|None|7'],
    ["{{ context.__operational__.nodes.get('Loop', 0) }}|{{ context.__operational__.nodes.get('Other', 0) < 5 }}", '2|True'],
    ['{% for k, v in context.x.items() %}{{ k }}={{ v }};{% endfor %}', 'a=1;b=two;'],
    ["{{ context.x.keys() | list | join(',') }}|{{ context.x.values() | join(',') }}", 'a,b|1,two'],
    ['{% for k in context.x %}{{ k }}{% endfor %}|{% for k, v in context.x %}{{ k }}{{ v }}{% endfor %}', 'ab|a1btwo'],
    // string methods
    ["{{ context.s.startswith('Hell') }}|{{ context.s.endswith(('x', 'ld')) }}", 'True|True'],
    ['{{ context.s.upper() }}|{{ context.s.lower() }}|{{ "ab cd".title() }}|{{ "aBC".capitalize() }}', 'HELLO WORLD|hello world|Ab Cd|Abc'],
    ['[{{ "  pad  ".strip() }}][{{ "xxhixx".strip("x") }}][{{ "  l".lstrip() }}][{{ "r  ".rstrip() }}]', '[pad][hi][l][r]'],
    ["{{ 'a b  c'.split() | length }}|{{ 'a,b,c'.split(',', 1) | last }}|{{ 'a,b,c'.rsplit(',', 1) | first }}", '3|b,c|a,b'],
    ["{{ 'aaa'.replace('a', 'b', 2) }}|{{ context.s.find('World') }}|{{ context.s.count('l') }}|{{ '-'.join(['x', 'y']) }}", 'bba|6|3|x-y'],
    ["{{ '123'.isdigit() }}|{{ 'abc'.isalpha() }}|{{ 'a1'.isdigit() }}|{{ '7'.zfill(3) }}", 'True|True|False|007'],
    [
      "{{ '{} + {} = {total}'.format(1, 2, total=3) }}|{{ '{:.2f}|{:>4}|{:,}'.format(3.14159, 'x', 1234567) }}",
      '1 + 2 = 3|3.14|   x|1,234,567',
    ],
    // negative indexes and slices
    ['{{ context.list[-1] }}|{{ context.s[-1] }}|{{ context.list[0] }}|[{{ context.list[10] }}]', '2|d|3|[]'],
    ['{{ context.s[:5] }}|{{ context.list[-2:] }}|{{ context.list[::-1] }}|{{ context.s[6:] }}', 'Hello|[1,2]|[2,1,3]|World'],
    // constants
    ['{{ True }}|{{ False }}|{{ None }}|{{ true }}|{{ none }}', 'True|False|None|True|None'],
    ['{{ True and not False and None is none }}', 'True'],
    // printing
    ['{{ 10 }}|{{ 2.5 }}|{{ context.x }}|{{ context.list }}|{{ context.flag }}', '10|2.5|{"a":1,"b":"two"}|[3,1,2]|True'],
    // operators with Python semantics
    [
      "{{ [] or 'fallback' }}|{{ 'a' and 'b' }}|{{ 0 or None }}|{{ not context.empty }}|{{ not context.emptyDict }}",
      'fallback|b|None|True|True',
    ],
    ['{% if context.empty %}yes{% else %}no{% endif %}|{% if context.emptyDict %}yes{% else %}no{% endif %}', 'no|no'],
    ["{{ 'y' if context.empty else 'n' }}|[{{ 'only' if False }}]", 'n|[]'],
    ['{{ 1 < context.n < 10 }}|{{ 1 < context.n < 3 }}', 'True|False'],
    [
      "{{ '1' == 1 }}|{{ 1 == 1.0 }}|{{ True == 1 }}|{{ context.x == {'a': 1, 'b': 'two'} }}|{{ [1, [2]] == [1, [2]] }}",
      'False|True|True|True|True',
    ],
    ["{{ 'a' ~ 1 ~ None ~ context.missing ~ True }}", 'a1NoneTrue'],
    [
      "{{ [1] + [2] }}|{{ 'ab' * 2 }}|{{ 7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 8 }}|{{ 7 / 2 }}|{{ 'Hi %s' % 'you' }}",
      '[1,2]|abab|3|2|256|3.5|Hi you',
    ],
    // in
    ["{{ 'A_DONE' in context.__operational__.signals }}|{{ 'B' not in context.__operational__.signals }}", 'True|True'],
    ["{{ 'World' in context.s }}|{{ 'a' in context.x }}|{{ {'a': 1} in [{'a': 1}] }}|{{ 'x' in context.missing }}", 'True|True|True|False'],
    // tests
    [
      '{{ context.n is defined }}|{{ context.nope is defined }}|{{ context.nope is not defined }}|{{ context.n is number }}',
      'True|False|True|True',
    ],
    [
      '{{ 4 is even }}|{{ 9 is divisibleby(3) }}|{{ context.x is mapping }}|{{ None is none }}|{{ context.s is string }}',
      'True|True|True|True|True',
    ],
    // missing values render empty and never throw on lookup
    ['[{{ context.nope }}][{{ context.nope.deeper }}][{{ context.nope.deeper.deepest }}][{{ context.nope[0] }}]', '[][][][]'],
    ['{{ context.data is defined and context.data }}', 'False'],
    // blocks
    ['{% for v in context.list %}{{ loop.index }}:{{ v }}{{ "," if not loop.last }}{% endfor %}', '1:3,2:1,3:2'],
    ['{% for v in context.empty %}x{% else %}none{% endfor %}', 'none'],
    ['{% set total = context.n * 2 %}{{ total }}', '10'],
    ['{% set t %}[{{ context.n }}]{% endset %}{{ t }}{{ t }}', '[5][5]'],
    ['{% filter upper %}loud {{ context.user.name }}{% endfilter %}', 'LOUD ADA'],
    ['{% if context.n > 10 %}big{% elif context.n > 3 %}mid{% else %}small{% endif %}', 'mid'],
    ['{% raw %}{{ not rendered }}{% endraw %}', '{{ not rendered }}'],
    ['a {# comment #}b', 'a b'],
    // globals
    ["{{ range(3) | list }}|{{ range(1, 10, 4) | join(',') }}|{{ dict(a=1) }}", '[0,1,2]|1,5,9|{"a":1}'],
    ["{% set c = cycler('odd', 'even') %}{% for i in range(3) %}{{ c.next() }} {% endfor %}", 'odd even odd '],
    ["{% set sep = joiner('/') %}{% for i in range(3) %}{{ sep() }}{{ i }}{% endfor %}", '0/1/2'],
  ])('%s', (tpl, expected) => {
    expect(r(tpl)).toBe(expected);
  });

  it.each([
    ["{{ context.votes | selectattr('vote', 'equalto', 'approve') | list | length }}", '2'],
    ["{{ (context.votes | selectattr('vote', 'equalto', 'approve') | list | length) >= 2 }}", 'True'],
    ["{{ context.votes | rejectattr('vote', '==', 'approve') | map(attribute='vote') | join }}", 'reject'],
    ["{{ context.votes | map(attribute='vote') | unique | list }}", '["approve","reject"]'],
    ["{{ context.votes | groupby('vote') | map('first') | join(',') }}", 'approve,reject'],
    ['{{ [1, 2, 3, 4] | select("odd") | list }}|{{ [0, 1, None] | select | list }}|{{ [1, 2] | reject("even") | list }}', '[1,3]|[1]|[1]'],
    [
      '{{ context.x | tojson }}|{{ [1, "a", None, True] | tojson }}|{{ context.x | tojson(2) | length }}',
      '{"a":1,"b":"two"}|[1,"a",null,true]|26',
    ],
    [
      '{{ context.list | sort | join }}|{{ context.list | sort(reverse=True) | first }}|{{ context.list | max }}|{{ context.list | min }}|{{ context.list | sum }}',
      '123|3|3|1|6',
    ],
    ["{{ [{'n': 'b'}, {'n': 'A'}] | sort(attribute='n') | map(attribute='n') | join }}", 'Ab'],
    [
      '{{ context.x | dictsort | first | first }}|{{ context.x | items | length }}|{{ context.x | length }}|{{ context.s | length }}',
      'a|2|2|11',
    ],
    ["{{ context.nope | default('dflt') }}|{{ '' | default('dflt', true) }}|{{ None | default('d') }}", 'dflt|dflt|None'],
    [
      "{{ '42' | int + 1 }}|{{ 'x' | int(7) }}|{{ 3.9 | int }}|{{ '2.5' | float * 2 }}|{{ 3.14159 | round(2) }}|{{ -3 | abs }}",
      '43|7|3|5|3.14|3',
    ],
    ["{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'a b' | title }}|{{ ' x ' | trim }}|{{ 'a-b' | replace('-', '+') }}", 'AB|ab|A B|x|a+b'],
    [
      "{{ 'foo bar baz qux' | truncate(9) }}|{{ 'one two three' | wordcount }}|{{ '<b>bold</b>' | striptags }}|{{ '<&>' | e }}",
      'foo...|3|bold|&lt;&amp;&gt;',
    ],
    [
      "{{ [1, 2, 3] | batch(2) | list }}|{{ [1, 2, 3] | slice(2) | list }}|{{ 'abc' | reverse }}|{{ [1, 2] | reverse | list }}",
      '[[1,2],[3]]|[[1,2],[3]]|cba|[2,1]',
    ],
    ["{{ '%s=%d' | format('n', 5) }}|{{ 'a b' | urlencode }}|{{ '{\"k\": [1]}' | fromjson | first }}", 'n=5|a%20b|k'],
    ['{{ context.list | first }}|{{ context.list | last }}|{{ "abc" | first }}|{{ context.x | list }}', '3|2|a|["a","b"]'],
  ])('filters: %s', (tpl, expected) => {
    expect(r(tpl)).toBe(expected);
  });

  it('refuses what Python refuses, as a TemplateError', () => {
    for (const tpl of ["{{ 'a' + 1 }}", '{{ context.s > 1 }}', '{{ 1 / 0 }}', '{{ 5 | length }}', "{{ 'a' in 5 }}", '{{ [1].index(9) }}'])
      expect(() => r(tpl), tpl).toThrow(TemplateError);
  });

  it('treats a missing value or None in an ordering comparison as not met', () => {
    expect(r('{{ context.nope > 1 }}|{{ context.nope <= 1 }}|{{ None < 1 }}')).toBe('False|False|False');
  });

  it('does not allow mutating data: there are no mutating methods', () => {
    expect(() => r('{{ context.list.append(4) }}')).toThrow(TemplateError);
    expect(() => r("{{ context.x.update({'a': 2}) }}")).toThrow(TemplateError);
    expect(() => r('{{ context.list.sort() }}')).toThrow(TemplateError);
    const v = vars();
    r('{{ context.list | sort | join }}{{ context.list | reverse | join }}', v);
    expect(v.context.list).toEqual([3, 1, 2]);
  });

  it('renders the fixture templates as upstream does', () => {
    const v: TemplateVars = {
      context: {
        amount: 150,
        user: { tier: 'free', credits: 0 },
        order: { line_items: [{ sku: 'a' }], total: 12 },
        system_health: { ready: true },
        user_input: '',
        type: 'c',
        __operational__: { nodes: { CoreOperation: 100 }, signals: ['FIRST_DONE'], errors: 0 },
      },
      history: {},
    };
    expect(cond('{{ context.amount > 100 }}', v)).toBe(true);
    expect(cond('{{ context.amount > 0 and context.amount <= 100 }}', v)).toBe(false);
    expect(cond("{{ context.user.tier == 'free' or context.user.credits <= 0 }}", v)).toBe(true);
    expect(cond("{{ context.order['line_items']|length > 0 and context.order.total > 0 }}", v)).toBe(true);
    expect(cond('{{ context.system_health.ready == true }}', v)).toBe(true);
    expect(cond("{{ context.__operational__.nodes.get('CoreOperation', 0) >= 100 }}", v)).toBe(true);
    expect(cond("{{ context.user_input is defined and context.user_input != '' }}", v)).toBe(false);
    expect(cond('{{ context.user_input is not defined or context.user_input | length == 0 }}', v)).toBe(true);
    expect(cond("{{ context.type not in ['a', 'b'] }}", v)).toBe(true);
    expect(cond("{{ 'FIRST_DONE' not in context.__operational__.signals }}", v)).toBe(false);
    expect(cond('{{ context.api_version is not defined }}', v)).toBe(true);
    expect(cond('{{ context.__operational__.errors >= 3 }}', v)).toBe(false);
    expect(cond('{{ result.errors|length == 0 }}', { ...v, result: { errors: [] } })).toBe(true);
    expect(r('Hello {{ context.name }}, your order {{ context.order_id }} is ready.', v)).toBe('Hello , your order  is ready.');
    expect(
      r('Generate: {{ context.task }}\n{% if context.errors %}\nErrors: {{ context.errors }}\n{% endif %}\n', {
        ...v,
        context: { ...v.context, errors: [] },
      }),
    ).toBe('Generate: \n');
  });
});

describe('accumulated', () => {
  it('reads the whole history of context.X and context["X"]', () => {
    expect(r('{{ context.worker_result | accumulated | length }}')).toBe('3');
    expect(r("{{ context['worker_result'] | accumulated | map(attribute='ok') | join }}")).toBe('abc');
    expect(r("{{ context.s | accumulated | join(', ') }}")).toBe('Hi, Hello World');
    expect(r('{{ (context.n | accumulated) | length >= 2 }}')).toBe('True');
  });

  it('reads the history even when the field is named like a dict method', () => {
    expect(r('{{ context.items | accumulated | length }}')).toBe('2');
    expect(r("{{ context['items'] | accumulated | map(attribute='a') | join }}")).toBe('01');
  });

  it('gives a history of one list as that list (a list given as the initial value)', () => {
    expect(r('{{ context.list | accumulated | length }}')).toBe('3');
    expect(r('{% for t in context.list | accumulated %}{{ loop.index }}={{ t }} {% endfor %}')).toBe('1=3 2=1 3=2 ');
  });

  it('gives [] for a missing field and wraps any other value in a list', () => {
    expect(r('{{ context.missing | accumulated | length }}')).toBe('0');
    expect(r("{{ 'x' | accumulated }}|{{ [1, 2] | accumulated | length }}|{{ None | accumulated | length }}")).toBe('["x"]|2|0');
    expect(r('{{ result | accumulated | length }}')).toBe('1');
    // Without histories (a caller that passes none), a field's value stands in for its history.
    expect(r('{{ context.s | accumulated | length }}', { context: { s: 'one' } })).toBe('1');
  });

  it('compares histories, as fan-in conditions do', () => {
    const v: TemplateVars = {
      context: { worker_result: 'b', items_to_process: [1, 2] },
      history: { worker_result: ['a', 'b'], items_to_process: [[1, 2]] },
    };
    expect(cond('{{ context.worker_result | accumulated | length == context.items_to_process | accumulated | length }}', v)).toBe(true);
    expect(cond('{{ context.worker_result | accumulated | length < context.items_to_process | accumulated | length }}', v)).toBe(false);
  });
});

describe('evaluateCondition', () => {
  it.each([
    ['{{ context.n < 10 }}', true],
    ['{{ context.n > 10 }}', false],
    ['{{ context.zero }}', false],
    ['{{ context.empty }}', false],
    ['{{ context.emptyDict }}', false],
    ['{{ context.nope }}', false],
    ['{{ None }}', false],
    ['{{ context.s }}', true],
    ['{{ context.list }}', true],
    ['  {{ context.flag }}\n', true],
    ['{{ "false" }}', false],
    ['{{ "no" }}', true],
    ['The input requires immediate attention', true],
  ])('%s → %s', (tpl, expected) => {
    expect(cond(tpl)).toBe(expected);
  });

  it('is fast enough for 20,000 router nodes a second', () => {
    const v = vars();
    const tpl = "{{ context.n < 5 and context.__operational__.nodes.get('Loop', 0) < 100 }}";
    cond(tpl, v);
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) cond(tpl, v);
    const perCall = (performance.now() - start) / 100_000;
    expect(perCall).toBeLessThan(0.02); // ms: 50 µs would be 20,000/s; this is typically well under 1 µs
  });
});

describe('renderValue', () => {
  it('keeps native values of a single expression and renders other strings', () => {
    expect(
      renderValue(
        {
          n: '{{ context.n }}',
          padded: ' {{ context.list }} ',
          text: 'n={{ context.n }}',
          obj: '{{ context.x }}',
          missing: '{{ context.nope }}',
          bool: '{{ context.n > 1 }}',
          none: '{{ None }}',
          str: '{{ context.s }}',
          nested: [{ deep: '{{ context.user.credits * 2 }}' }, 7, null, 'plain'],
        },
        vars(),
      ),
    ).toEqual({
      n: 5,
      padded: [3, 1, 2],
      text: 'n=5',
      obj: { a: 1, b: 'two' },
      missing: '',
      bool: true,
      none: null,
      str: 'Hello World',
      nested: [{ deep: 20 }, 7, null, 'plain'],
    });
  });

  it('returns copies, so a tool cannot mutate the context through its arguments', () => {
    const v = vars();
    const got = renderValue('{{ context.x }}', v) as Record<string, unknown>;
    got.a = 99;
    expect(v.context.x).toEqual({ a: 1, b: 'two' });
  });

  it('leaves non-template values alone', () => {
    const date = new Date(0);
    expect(renderValue(42, vars())).toBe(42);
    expect(renderValue(date, vars())).toBe(date);
    expect(renderValue('no braces', vars())).toBe('no braces');
  });

  it('refuses to pass a function as a value', () => {
    expect(() => renderValue('{{ range }}', vars())).toThrow(TemplateError);
    expect(() => renderValue('{{ context.s.upper }}', vars())).toThrow(TemplateError);
  });
});

describe('validateTemplate', () => {
  it('accepts valid templates and plain text', () => {
    expect(validateTemplate('{{ context.a | length > 0 }}')).toBeNull();
    expect(validateTemplate('plain text')).toBeNull();
  });

  it('reports syntax errors, unknown filters and tests, naming them', () => {
    expect(validateTemplate('{{ context.data is defined')).toMatch(/syntax error/);
    expect(validateTemplate('{% if x %}')).toMatch(/syntax error/);
    expect(validateTemplate('{{ context.data | nonexistent_filter }}')).toMatch(/unknown filter 'nonexistent_filter'/);
    expect(validateTemplate('{{ context.data | capitalize_all }}')).toMatch(/capitalize_all/);
    expect(validateTemplate("{{ [1] | map('nope') }}")).toBeNull(); // filter names given as data are checked when used
    expect(() => r("{{ [1] | map('nope') }}")).toThrow(/unknown filter 'nope'/);
    expect(validateTemplate('{{ x is frobnicated }}')).toMatch(/unknown test 'frobnicated'/);
  });

  it('reports sandbox violations, naming them', () => {
    expect(validateTemplate('{{ range.constructor }}')).toMatch(/'constructor' is not accessible/);
    expect(validateTemplate("{% include 'x' %}")).toMatch(/include/);
    expect(validateTemplate('{{ foo() }}')).toMatch(/'foo' cannot be called/);
  });
});

// ---------------------------------------------------------------------------------------------
// The sandbox
// ---------------------------------------------------------------------------------------------

/** Code that, if it ever ran, would be seen (the flag) or would end the test run (the exit). */
const PAYLOAD = "'globalThis.__pwned = true; return process'";
const EXIT = "'process.exit(3)'";

const HOSTILE: string[] = [
  // constructors of globals, helpers and data
  `{{ range.constructor(${PAYLOAD})() }}`,
  `{{ range.constructor(${EXIT})() }}`,
  `{{ cycler.constructor(${PAYLOAD})() }}`,
  `{{ joiner.constructor(${PAYLOAD})() }}`,
  `{{ dict.constructor(${PAYLOAD})() }}`,
  `{{ lipsum.constructor(${PAYLOAD})() }}`,
  `{{ lipsum.constructor }}`,
  `{{ context.x.constructor }}`,
  `{{ context.x.constructor.constructor(${PAYLOAD})() }}`,
  `{{ context.s.constructor.constructor(${PAYLOAD})() }}`,
  `{{ ''.constructor.constructor(${PAYLOAD})() }}`,
  `{{ (1).constructor.constructor(${PAYLOAD})() }}`,
  `{{ [].constructor.constructor(${PAYLOAD})() }}`,
  `{{ {}.constructor.constructor(${PAYLOAD})() }}`,
  `{{ context['constructor'] }}`,
  `{{ context['constructor']['constructor'](${PAYLOAD})() }}`,
  `{{ context.__operational__.constructor }}`,
  `{{ (context.get).constructor }}`,
  `{{ context.x.get.constructor }}`,
  `{{ context.x.items().constructor }}`,
  `{{ context.list.index.constructor }}`,
  `{{ range(1).constructor }}`,
  // keys computed at run time
  `{{ context.x['constr' ~ 'uctor'] }}`,
  `{{ context.x['constr' ~ 'uctor']['constr' ~ 'uctor'](${PAYLOAD})() }}`,
  `{{ context.x[context.s[0:0] ~ 'constructor'] }}`,
  `{% set c = 'constructor' %}{{ range[c] }}`,
  `{% set c = 'constructor' %}{{ range[c][c](${PAYLOAD})() }}`,
  `{% set c = 'constr' ~ 'uctor' %}{{ context.x[c][c](${PAYLOAD})() }}`,
  `{% set p = '__pro' ~ 'to__' %}{{ context.x[p] }}`,
  `{{ context.x['__proto__'] }}`,
  `{{ context.x.__proto__ }}`,
  `{{ context.x.__proto__.polluted }}`,
  `{{ context.x.prototype }}`,
  // filters that read attributes
  `{{ context.x | attr('constructor') }}`,
  `{{ context.x | attr('constr' ~ 'uctor') }}`,
  `{{ [context.x] | map(attribute='constructor') | first }}`,
  `{{ [context.x] | map(attribute='constr' ~ 'uctor') | first }}`,
  `{{ [context.x] | map(attribute='a.constructor') | first }}`,
  `{{ [context.x] | selectattr('constructor') | list }}`,
  `{{ [context.x, context.x] | sort(attribute='constructor') | first }}`,
  `{{ [context.x] | groupby('constructor') }}`,
  `{{ [context.x] | groupby('__proto__') }}`,
  `{{ [context.x] | sum(attribute='constructor') }}`,
  `{{ [context.x] | join(attribute='constructor') }}`,
  `{{ [context.x] | unique(attribute='constructor') }}`,
  `{{ context.list | map('constructor') | first }}`,
  `{{ context.x | dictsort(by='constructor') }}`,
  `{{ '{0.constructor}'.format(context.x) }}`,
  `{{ '{0[__proto__]}'.format(context.x) }}`,
  // aliasing functions
  `{% set f = range %}{{ f.constructor(${PAYLOAD})() }}`,
  `{% set f = context.s.upper %}{{ f.call(1) }}`,
  `{% set f = context.x.get %}{{ f.constructor }}`,
  // Function.prototype members of helpers
  `{{ ''.upper.call }}`,
  `{{ ''.upper.apply }}`,
  `{{ ''.upper.bind }}`,
  `{{ context.s.upper.call(1) }}`,
  `{{ context.s.upper.bind(1)() }}`,
  `{{ range.call(1, 2) }}`,
  `{{ range.apply(1, [2]) }}`,
  `{{ range.name }}`,
  `{{ range.length }}`,
  `{{ range['call'] }}`,
  `{{ range[0] }}`,
  // functions as values
  `{{ range }}`,
  `{{ context.s.upper }}`,
  `{{ context.x.get }}`,
  `{{ range ~ '' }}`,
  `{{ range | string }}`,
  `{{ range | tojson }}`,
  `{{ range | list }}`,
  `{{ range | length }}`,
  `{{ [range] | tojson }}`,
  `{{ {'toJSON': range} | tojson }}`,
  `{{ {'toString': range} ~ '' }}`,
  `{{ - {'valueOf': range} }}`,
  // Object.prototype members
  `{{ context.x.toString() }}`,
  `{{ context.x.valueOf() }}`,
  `{{ context.x.hasOwnProperty('a') }}`,
  `{{ context.x.hasOwnProperty }}`,
  `{{ context.x.isPrototypeOf(context.x) }}`,
  `{{ context.x.propertyIsEnumerable('a') }}`,
  `{{ context.x.toLocaleString() }}`,
  `{{ context.x.__defineGetter__('a', range) }}`,
  `{{ context.x.__defineSetter__('a', range) }}`,
  `{{ context.x.__lookupGetter__('a') }}`,
  `{{ toString }}`,
  `{{ constructor }}`,
  `{{ valueOf() }}`,
  `{{ {'__proto__': {'polluted': 1}} }}`,
  `{{ dict(__proto__={'polluted': 1}) }}`,
  `{{ dict([['__proto__', {'polluted': 1}]]) }}`,
  // mutation
  `{{ context.list.push(4) }}`,
  `{{ context.list.pop() }}`,
  `{{ context.list.append(4) }}`,
  `{{ context.x.update({}) }}`,
  `{{ context.list.sort() }}`,
  // calling anything else
  `{{ require('fs') }}`,
  `{{ require('child_process').execSync('touch /tmp/pwned') }}`,
  `{{ process.exit(1) }}`,
  `{{ process.mainModule.require('fs') }}`,
  `{{ import('fs') }}`,
  `{{ eval(${PAYLOAD}) }}`,
  `{{ Function(${PAYLOAD})() }}`,
  `{{ globalThis.process.exit(1) }}`,
  `{{ this.constructor }}`,
  `{{ caller() }}`,
  `{{ context.x() }}`,
  `{{ context.s() }}`,
  `{{ (context.s.upper)() }}`,
  `{{ (range | first)() }}`,
  `{{ context.x.get('a')() }}`,
  `{{ loop.cycle('a') }}`,
  // template loading and macros
  `{% include 'x' %}`,
  `{% include '/etc/passwd' %}`,
  `{% import 'x' as y %}`,
  `{% from 'x' import y %}`,
  `{% extends 'x' %}`,
  `{% block b %}{% endblock %}`,
  `{% macro m() %}x{% endmacro %}{{ m() }}`,
  `{% macro m() %}{% endmacro %}{{ m.constructor }}`,
  `{% call range(1) %}x{% endcall %}`,
  `{{ super() }}`,
  // regex literals (and ReDoS)
  `{{ r/(a+)+$/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!') }}`,
  `{{ 'x' | replace(r/x/g, 'y') }}`,
];

/** Templates that may render (as nothing) because they only name undefined variables. */
const RENDERS_EMPTY = new Set([
  '{{ process }}',
  '{{ this }}',
  '{{ globalThis }}',
  '{{ caller }}',
  '{{ require }}',
  '{{ window }}',
  '{{ module }}',
]);

describe('the sandbox', () => {
  it.each(HOSTILE)('refuses %s, running nothing', (tpl) => {
    let error: unknown;
    try {
      renderTemplate(tpl, vars());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect(g.__pwned).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([...RENDERS_EMPTY])('renders %s as nothing (an undefined name)', (tpl) => {
    expect(r(tpl)).toBe('');
  });

  it('refuses at compile time what it can see, with a useful message', () => {
    expect(validateTemplate('{{ context.x.constructor }}')).toMatch(/'constructor' is not accessible/);
    expect(validateTemplate('{{ context.x.__proto__ }}')).toMatch(/'__proto__' is not accessible/);
    expect(validateTemplate('{{ require("fs") }}')).toMatch(/'require' cannot be called/);
    expect(validateTemplate('{{ context.list.push(1) }}')).toMatch(/'context.list.push' cannot be called/);
    expect(validateTemplate('{% import "x" as y %}')).toMatch(/import/);
    expect(validateTemplate('{% macro m() %}{% endmacro %}')).toMatch(/macro/);
  });

  it('refuses at render time what only the data reveals', () => {
    expect(validateTemplate("{{ context.x['constr' ~ 'uctor'] }}")).toBeNull();
    expect(() => r("{{ context.x['constr' ~ 'uctor'] }}")).toThrow(/'constructor' is not accessible/);
    expect(() => r('{{ context.x[context.key] }}', { context: { x: {}, key: '__proto__' } })).toThrow(/'__proto__' is not accessible/);
  });

  it('is not fooled by code injection through names nunjucks pastes into generated code', () => {
    const injections = [
      `{{ 1 is "truthy\\"), globalThis.__pwned = true, (\\"" }}`,
      `{{ 1 is "x\\")||(globalThis.__pwned = true)||(\\"" }}`,
      `{{ context.s['x\\\\"]\\"); globalThis.__pwned = true; //'].upper() }}`,
      `{{ context.s['\\"); globalThis.__pwned = true; (\\"'].upper() }}`,
      `{{ context.x['a\\u2028b\\u2029'].get('\\"); globalThis.__pwned = true; //') }}`,
      `{{ context | selectattr('x', '\\"); globalThis.__pwned = true; //') }}`,
      `{{ {'\\"); globalThis.__pwned = true; //': 1} }}`,
    ];
    for (const tpl of injections) {
      try {
        renderTemplate(tpl, vars());
      } catch (e) {
        expect(e, tpl).toBeInstanceOf(TemplateError);
      }
      expect(g.__pwned, tpl).toBeUndefined();
    }
  });

  it('treats data as data: a context value that looks like a template is not evaluated', () => {
    const v = vars();
    v.context.s = `{{ range.constructor(${PAYLOAD})() }}`;
    expect(r('{{ context.s }}', v)).toBe(`{{ range.constructor(${PAYLOAD})() }}`);
    expect(renderValue('{{ context.s }}', v)).toBe(`{{ range.constructor(${PAYLOAD})() }}`);
  });

  it('never hands a function found in the data to a template, nor calls it', () => {
    let called = 0;
    const fn = () => {
      called++;
      return 'secret';
    };
    const v: TemplateVars = { context: { obj: { fn, toJSON: fn }, list: [fn] }, result: fn };
    expect(r('[{{ context.obj.fn }}][{{ result }}][{{ context.list[0] }}]', v)).toBe('[][][]');
    expect(() => r('{{ context.obj.fn() }}', v)).toThrow(TemplateError);
    expect(() => r('{% set f = context.list | first %}{{ f() }}', v)).toThrow(TemplateError);
    expect(() => r('{% for f in context.list %}{% set g = f %}{{ g() }}{% endfor %}', v)).toThrow(TemplateError);
    expect(r('{{ context.obj | tojson }}', v)).toBe('{}');
    expect(r("{% set f = context.list | first %}{{ {'toJSON': f} | tojson }}", v)).toBe('{}');
    expect(() => r("{% set f = context.list | first %}{{ {'toString': f} ~ '' }}", v)).toThrow(/'toString' cannot be used as a dict key/);
    expect(r("{% set f = context.list | first %}{{ {'a': f} ~ '' }}", v)).toBe('{}');
    expect(called).toBe(0);
  });

  it('does not run getters planted with __defineGetter__ (there is no way to plant them)', () => {
    expect(() => r("{{ context.x.__defineGetter__('a', range) }}")).toThrow(TemplateError);
    expect(() => r("{% set d = dict() %}{{ d['__defineGetter__'] }}")).toThrow(TemplateError);
  });

  it('does not touch nunjucks for other users: stock nunjucks renders as before', () => {
    r("{{ context.x.get('a') }}");
    const env = new nunjucks.Environment();
    // Stock nunjucks semantics (JS truthiness, JS members), not ours.
    expect(env.renderString('{% if [] %}y{% else %}n{% endif %}|{{ "abc".length }}|{{ x.hasOwnProperty("a") }}', { x: { a: 1 } })).toBe(
      'y|3|true',
    );
    expect(env.renderString('{{ [1, 2] | join("-") }}', {})).toBe('1-2');
  });

  it('bounds the work and output of a render', () => {
    expect(() => r('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}')).toThrow(/budget/);
    expect(() => r("{% set s = 'ab' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s | length }}")).toThrow(TemplateError);
    expect(() => r('{% set l = [1] %}{% for i in range(40) %}{% set l = l + l %}{% endfor %}{{ l | length }}')).toThrow(TemplateError);
    expect(() => r('{{ range(10000000) | length }}')).toThrow(/range/);
    expect(() => r("{{ 'x' * 100000000 }}")).toThrow(TemplateError);
    expect(() => r("{{ 'x'.center(100000000) }}")).toThrow(TemplateError);
    expect(() => r("{{ '{:>100000000}'.format('x') }}")).toThrow(TemplateError);
    expect(() => r("{{ 'x' | indent(100000000) }}")).toThrow(TemplateError);
    // A later render starts with a fresh budget.
    expect(r('{{ range(5) | sum }}')).toBe('10');
  });

  it('wraps every render failure in a TemplateError', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => r('{{ context.c }}', { context: { c: cyclic } })).toThrow(TemplateError);
    expect(() => r('{{ context.n.get(1) }}')).toThrow(TemplateError);
    expect(() => r("{{ 'x' | fromjson }}")).toThrow(TemplateError);
  });
});

describe('contextReadsOf', () => {
  it('lists the context fields a text depends on when it depends on nothing else', () => {
    expect(contextReadsOf('Say hi')).toEqual([]);
    expect(contextReadsOf("Hello {{ context.a | upper }}{% if context['b'] is defined %} and {{ context.b.c ~ '!' }}{% endif %}")).toEqual([
      'a',
      'b',
    ]);
    expect(contextReadsOf("{{ context.n is divisibleby(2) }} {{ {'k': context.m}['k'] }} {{ context.x or 'none' }}")).toEqual([
      'n',
      'm',
      'x',
    ]);
  });

  it('is null when the text may depend on anything else: other variables, calls, loops, computed keys, slices', () => {
    for (const source of [
      '{{ context }}',
      '{{ history.a }}',
      '{{ context.__operational__.nodes.A }}x{{ other }}',
      '{% for x in context.items %}{{ x }}{% endfor %}',
      '{% set y = context.a %}{{ y }}',
      '{{ range(3) | join }}',
      '{{ context.a.upper() }}',
      '{{ context[context.key] }}',
      '{{ context.a[1:] }}',
      '{{ x is defined }}',
    ])
      expect(contextReadsOf(source), source).toBeNull();
  });

  it('renders such a template again to the same text from those fields alone', () => {
    const source = "{{ context.a | upper }}-{{ context.b.c | default('none') }}-{{ context.a is string }}";
    const full = renderTemplate(source, templateVars({ a: ['x', 'y'], b: [{ c: 1 }], other: [2] }));
    expect(renderAgain(source, templateVars({ a: ['y'], b: [{ c: 1 }] }))).toBe(full);
    expect(full).toBe('Y-1-True');
  });
});

describe('plain templates (text, outputs, lookups and filters)', () => {
  const plain = [
    'Step 12: continue from {{ context.answer }}',
    '{{ context.a.b | upper }}!',
    "{{ context.list[1] }} {{ context['a']['b'] }} {{ context.missing }} {{ context.missing.deeper }}",
    "{{ context.a | tojson }} {{ context.n | round(1) }} {{ context.s | replace('l', 'L') | title }}",
    '{{ context.list }} {{ context.flag }} {{ context.nothing }} {{ 3 }} {{ True }} {{ "q" }}',
    '{{ context.s.upper }}',
    '{{ context.n | nosuchfilterhere }}',
    '{{ context.s | int }}',
    '{{ context.list | join(context.sep) }}',
    '{{ context.n }}',
    '{{ context.a }}',
    '  {{ context.list }}  ',
  ];
  const vars = (): TemplateVars => ({
    context: { answer: 'ok', a: { b: 'deep' }, list: [1, 'two', { x: 3 }], n: 2.345, s: 'hello', flag: true, nothing: null, sep: '+' },
    history: {},
  });
  const outcome = (f: () => unknown) => {
    try {
      return { value: f() };
    } catch (e) {
      return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
    }
  };

  it('render and evaluate exactly as their compiled code, errors included', () => {
    let walked = 0;
    for (const source of plain) {
      const compiled = outcome(() => build(source, { compile: true }));
      const walkedBuild = outcome(() => build(source));
      expect(walkedBuild.error, source).toBe(compiled.error);
      if (compiled.error) continue;
      const [a, b] = [compiled.value as ReturnType<typeof build>, walkedBuild.value as ReturnType<typeof build>];
      walked += 1;
      expect(b, source).not.toHaveProperty('root', expect.any(Function));
      expect(
        outcome(() => b.render(vars())),
        source,
      ).toEqual(outcome(() => a.render(vars())));
      expect(
        outcome(() => b.value(vars())),
        source,
      ).toEqual(outcome(() => a.value(vars())));
    }
    // All but the unknown filter, refused when built.
    expect(walked).toBe(plain.length - 1);
  });

  it('share one walker: no code is generated for them, and other templates are still compiled', () => {
    expect(build(plain[0]!)).not.toHaveProperty('root', expect.any(Function));
    expect(build('{% if context.a %}x{% endif %}')).toHaveProperty('root', expect.any(Function));
  });

  it('keep the output cap', () => {
    const big = 'x'.repeat(20 * 1024 * 1024);
    const v: TemplateVars = { context: { big }, history: {} };
    const source = '{{ context.big }}{{ context.big }}';
    expect(outcome(() => build(source).render(v))).toEqual(outcome(() => build(source, { compile: true }).render(v)));
    expect(() => build(source).render(v)).toThrow(TemplateError);
  });
});
