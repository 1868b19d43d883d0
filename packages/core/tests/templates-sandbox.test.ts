import { afterEach, describe, expect, it } from 'vitest';
import { compileTemplate, evaluateCondition, renderTemplate, renderValue, TemplateError, validateTemplate } from '../src/index.js';

const vars = () => ({
  context: {
    s: 'text',
    n: 5,
    x: { a: 1 },
    list: [1, 2, 3],
    order: { items: ['apple'], total: 3 },
    __operational__: { nodes: { A: 2 }, signals: ['START'] },
  },
  history: { list: [[1, 2, 3]], s: ['old', 'text'] },
});
const g = globalThis as { __pwned?: boolean };
afterEach(() => {
  delete g.__pwned;
});

const PAYLOAD = "'globalThis.__pwned = true; return 1'";
const HOSTILE = [
  `{{ range.constructor(${PAYLOAD})() }}`,
  `{{ cycler.constructor(${PAYLOAD})() }}`,
  `{{ joiner.constructor(${PAYLOAD})() }}`,
  `{{ lipsum.constructor(${PAYLOAD})() }}`,
  `{{ context.x.constructor.constructor(${PAYLOAD})() }}`,
  `{{ context.s.constructor.constructor(${PAYLOAD})() }}`,
  `{{ ''.constructor.constructor(${PAYLOAD})() }}`,
  `{{ (1).constructor.constructor(${PAYLOAD})() }}`,
  `{{ [].constructor.constructor(${PAYLOAD})() }}`,
  `{{ {}.constructor.constructor(${PAYLOAD})() }}`,
  `{{ context['constructor']['constructor'](${PAYLOAD})() }}`,
  `{{ context.x['constr' ~ 'uctor']['constr' ~ 'uctor'](${PAYLOAD})() }}`,
  `{{ context.x.__proto__ }}`,
  `{{ context.x | attr('constructor') }}`,
  `{{ [context.x] | map(attribute='constructor') | first }}`,
  `{% set f = range %}{{ f.constructor(${PAYLOAD})() }}`,
  `{% set c = 'constructor' %}{{ range[c][c](${PAYLOAD})() }}`,
  `{% set c = 'constr' ~ 'uctor' %}{{ range[c][c](${PAYLOAD})() }}`,
  `{% include 'x' %}`,
  `{% import 'x' as y %}`,
  `{% from 'x' import y %}`,
  `{% extends 'x' %}`,
  `{{ require('fs') }}`,
  `{{ process.exit(1) }}`,
  `{{ context.__operational__.constructor }}`,
  `{{ context.get.constructor }}`,
  `{{ context.items().constructor }}`,
  `{{ context.s.upper.call(1) }}`,
  `{{ context.s.upper.apply(1) }}`,
  `{{ context.s.upper.bind(1)() }}`,
  `{% macro m() %}x{% endmacro %}{{ m() }}`,
  `{{ caller() }}`,
  `{{ context.x.toString() }}`,
  `{{ context.x.valueOf() }}`,
  `{{ context.x.__defineGetter__('a', range) }}`,
  `{{ context.x.hasOwnProperty('a') }}`,
  `{{ context.list.push(4) }}`,
  `{{ context.s.upper }}`,
  `{{ range }}`,
  `{{ context.x[context.s ~ 'constructor'] }}`,
  `{{ context.list | sort(attribute='constructor') | first }}`,
  `{{ context.list | map('constructor') | first }}`,
  `{{ eval('1') }}`,
  `{{ Function('return 1')() }}`,
  `{{ globalThis }}`,
  `{{ this.constructor }}`,
];

describe('the template sandbox', () => {
  it.each(HOSTILE)('refuses %s and runs nothing', (tpl) => {
    let out: string | undefined;
    let error: unknown;
    try {
      out = renderTemplate(tpl, vars());
    } catch (e) {
      error = e;
    }
    expect(g.__pwned).toBeUndefined();
    if (error === undefined) {
      // Renders only when it reaches nothing: the output is empty, never a function's text.
      expect(out).toBe('');
    } else {
      expect(error).toBeInstanceOf(TemplateError);
    }
  });

  it('refuses constructor access at validation time, naming it', () => {
    expect(validateTemplate('{{ range.constructor }}')).toMatch(/constructor/);
    expect(validateTemplate('{{ context.x | capitalize_all }}')).toMatch(/unknown filter 'capitalize_all'/);
    expect(validateTemplate('{{ context.x ')).toBeTruthy();
  });

  it('a model-injected context value is data: a string that looks like a template is not evaluated', () => {
    const v = vars();
    (v.context as Record<string, unknown>).s = "{{ range.constructor('return 1')() }}";
    expect(renderTemplate('{{ context.s }}', v)).toBe("{{ range.constructor('return 1')() }}");
  });
});

describe('the Jinja compatibility layer', () => {
  const r = (t: string) => renderTemplate(t, vars());
  it('reads a dict key before a method of the same name', () => expect(r("{{ context.order['items'][0] }}")).toBe('apple'));
  it('has .get, .items, .keys on dicts', () => {
    expect(r("{{ context.__operational__.nodes.get('A', 0) }}")).toBe('2');
    expect(r("{{ context.__operational__.nodes.get('B', 7) }}")).toBe('7');
    expect(r('{% for k, v in context.x.items() %}{{ k }}={{ v }}{% endfor %}')).toBe('a=1');
    expect(r('{{ context.x.keys() | list | length }}')).toBe('1');
  });
  it('has string methods', () => {
    expect(r("{{ context.s.startswith('te') }}")).toBe('True');
    expect(r('{{ context.s.upper() }}')).toBe('TEXT');
    expect(r("{{ '  a b '.strip().split(' ') | length }}")).toBe('2');
  });
  it('supports negative indexes', () => expect(r('{{ context.list[-1] }}')).toBe('3'));
  it('has tojson, True/False/None', () => {
    expect(r('{{ context.x | tojson }}')).toBe('{"a":1}');
    expect(evaluateCondition('{{ True and not False and None is none }}', vars())).toBe(true);
  });
  it('reads histories through accumulated (a single list history is the list)', () => {
    expect(r('{{ context.list | accumulated | length }}')).toBe('3');
    expect(r("{{ context['s'] | accumulated | join(',') }}")).toBe('old,text');
    expect(r('{{ context.missing | accumulated | length }}')).toBe('0');
  });
  it('renders a missing field as empty and treats it as undefined', () => {
    expect(r('[{{ context.nope }}][{{ context.nope.deeper }}]')).toBe('[][]');
    expect(evaluateCondition('{{ context.nope is not defined }}', vars())).toBe(true);
  });
  it('selectattr with a test and value, as in voting workflows', () => {
    const v = { context: { votes: [{ vote: 'yes' }, { vote: 'no' }, { vote: 'yes' }] } };
    expect(renderTemplate("{{ context.votes | selectattr('vote', 'equalto', 'yes') | list | length }}", v)).toBe('2');
  });
  it('renderValue keeps native types for a single expression', () => {
    expect(renderValue({ n: '{{ context.n }}', s: 'n={{ context.n }}', l: '{{ context.list }}' }, vars())).toEqual({
      n: 5,
      s: 'n=5',
      l: [1, 2, 3],
    });
  });
  it('compiles each template once', () => {
    expect(compileTemplate('{{ context.n }}')).toBe(compileTemplate('{{ context.n }}'));
  });
});
