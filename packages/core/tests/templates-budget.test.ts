import { describe, expect, it } from 'vitest';
import {
  type CallLlm,
  compileTemplate,
  createAllNodes,
  createInMemoryBackends,
  evaluateCondition,
  orchestrate,
  renderTemplate,
  renderValue,
  TemplateError,
  validateTemplate,
} from '../src/index.js';
import { RenderBudget } from '../src/templates/budget.js';
import { renderTemplateAt, renderValueAt } from '../src/templates/index.js';

/** A 30 MB string built inside the template from a short source (each step within the old limits). */
const BUILD_30MB =
  "{% set a = 'x' * 100000 %}{% set b = a ~ a ~ a ~ a ~ a ~ a ~ a ~ a ~ a ~ a %}" +
  '{% set c = b ~ b ~ b ~ b ~ b ~ b ~ b ~ b ~ b ~ b %}{% set d = c ~ c ~ c %}';

/** The first hostile condition: short, valid, and allocates a 30 MB string 200 times. */
const HOSTILE_ALLOCATING =
  BUILD_30MB +
  '{% set kept = [] %}{% for i in range(200) %}' +
  "{% set kept = kept + [(d ~ i).replace('x', 'y'), ('%s' % d).upper(), (d ~ i) | lower] %}" +
  '{% endfor %}{{ kept | length > 0 and context.order.total > 100 and context.order.status == "open" }}';

/** The second: `s.upper()` on a 30 MB string inside nested loops (hours, unbounded). */
const HOSTILE_UPPER =
  BUILD_30MB + "{% for i in range(1000) %}{% for j in range(1000) %}{% if d.upper() == '' %}x{% endif %}{% endfor %}{% endfor %}";

const vars = (context: Record<string, unknown> = {}) => ({ context: { order: { total: 150, status: 'open' }, ...context } });

function errorOf(f: () => unknown): TemplateError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return e as TemplateError;
  }
  throw new Error('expected a TemplateError');
}

describe('templates are bounded by work', () => {
  it('passes validation, then stops the allocating condition with an error naming the limit', () => {
    expect(HOSTILE_ALLOCATING.length).toBeLessThan(600);
    expect(validateTemplate(HOSTILE_ALLOCATING)).toBeNull();
    const e = errorOf(() => evaluateCondition(HOSTILE_ALLOCATING, vars()));
    expect(e.message).toMatch(/exceeded its (work|memory) budget/);
    // The process is alive and the next render has a fresh budget.
    expect(evaluateCondition('{{ context.order.total > 100 }}', vars())).toBe(true);
  });

  it('stops upper() on a 30 MB string inside nested loops with an error naming the limit', () => {
    const e = errorOf(() => renderTemplate(HOSTILE_UPPER, vars()));
    expect(e.message).toMatch(/exceeded its (work|memory|time) budget/);
  });

  // A long text (4.2 MB) from the context: each operation once is fine; the same in a loop is not.
  const text = 'lorem ipsum <b>dolor</b> sit amet, '.repeat(120_000);
  const parts = Array.from({ length: 100_000 }, (_, i) => `part number ${i} of the list`);
  const ops: [string, string][] = [
    ['upper()', 'context.text.upper()'],
    ['lower', 'context.text | lower'],
    ['replace()', "context.text.replace('amet', 'AMET')"],
    ['replace filter', "context.text | replace('sit', 'SIT')"],
    ['split()', "context.text.split(',')"],
    ['in', "'zzz' in context.text"],
    ['count()', "context.text.count('o')"],
    ['striptags', 'context.text | striptags'],
    ['%', "'<%s>' % context.text"],
    ['format()', "'<{}>'.format(context.text)"],
    ['join', "context.parts | join(', ')"],
    ['str.join()', "', '.join(context.parts)"],
    ['==', 'context.text == context.other'],
    ['+ on lists', 'context.parts + context.parts'],
    ['* repetition', "'ab' * 50000"],
    ['tojson', 'context.parts | tojson'],
    ['map() of a filter', "[context.text] | map('upper') | list"],
  ];
  for (const [name, expr] of ops) {
    it(`charges ${name} for the size of what it reads or builds`, () => {
      const v = vars({ text, other: `${text.slice(0, -1)}!`, parts });
      expect(() => renderTemplate(`{% set r = ${expr} %}ok`, v)).not.toThrow();
      const e = errorOf(() => renderTemplate(`{% for i in range(2000) %}{% set r = ${expr} %}{% endfor %}`, v));
      expect(e.message).toMatch(/exceeded its (work|memory|time) budget/);
    });
  }

  it('does not charge what does not read the whole string', () => {
    const v = vars({ text });
    const tpl =
      "{% for i in range(5000) %}{% if context.text.startswith('lorem') and (context.text | default('')) and context.text[:5] == 'lorem' %}" +
      'x{% endif %}{% endfor %}';
    expect(renderTemplate(tpl, v)).toBe('x'.repeat(5000));
  });

  it('keeps Python code-point semantics on the paths that avoid listing characters', () => {
    const v = vars({ s: '😀😀ab' });
    const r = (t: string) => renderTemplate(t, v);
    expect([r('{{ context.s[:2] }}'), r('{{ context.s[1:3] }}'), r('{{ context.s[-2:] }}'), r('{{ context.s[::-1] }}')]).toEqual([
      '😀😀',
      '😀a',
      'ab',
      'ba😀😀',
    ]);
    expect([
      r('{{ context.s | length }}'),
      r('{{ context.s | first }}'),
      r('{{ context.s | last }}'),
      r("{{ context.s.strip('😀') }}"),
    ]).toEqual(['4', '😀', 'b', 'ab']);
  });

  it('counts the text ~ adds, and refuses strings beyond the size limit', () => {
    expect(() =>
      renderTemplate("{% set s = 'ab' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s | length }}", vars()),
    ).toThrow(/exceeded 33554432 characters/);
    // Appending lines is charged the lines, not the whole text again each time.
    expect(
      renderTemplate("{% set s = '' %}{% for i in range(20000) %}{% set s = s ~ 'line ' ~ i ~ '\n' %}{% endfor %}{{ s | length }}", vars()),
    ).toBe('208890');
  });

  it('has a wall-time limit, read on the clock as charges add up', () => {
    const budget = new RenderBudget({ timeMs: -1 });
    expect(() => {
      for (let i = 0; i < 10_000; i++) budget.charge(1);
    }).toThrow(/exceeded its time budget of -1 ms/);
    // A single large charge reads the clock at once.
    expect(() => new RenderBudget({ timeMs: -1 }).reads(2_000_000)).toThrow(/time budget/);
  });

  it('names each limit', () => {
    expect(() => new RenderBudget({ steps: 10 }).charge(11)).toThrow(/work budget of 10 steps/);
    expect(() => new RenderBudget({ read: 10 }).reads(11)).toThrow(/work budget of 10 characters read/);
    expect(() => new RenderBudget({ alloc: 1024 * 1024 }).builtText(600_000)).toThrow(/memory budget of 1 MiB/);
  });
});

describe('templates never mutate context data', () => {
  it('keeps a value set to `loop` inside a for loop as it was', () => {
    const order = { id: 7, items: ['a'] };
    const out = renderTemplate('{% for x in [1, 2, 3] %}{{ loop.index }}{% set loop = context.order %}{% endfor %}', {
      context: { order },
    });
    expect(out).toBe('123');
    expect(order).toEqual({ id: 7, items: ['a'] });
    expect(Object.keys(order)).toEqual(['id', 'items']);
  });

  it('keeps nested loops and loop.* working', () => {
    const out = renderTemplate(
      '{% for a in [1, 2] %}{% for b in [1, 2] %}{{ loop.index }}/{{ loop.length }}{{ "," if not loop.last }}{% endfor %};{% endfor %}',
      vars(),
    );
    expect(out).toBe('1/2,2/2;1/2,2/2;');
  });
});

describe('the compiled-template cache', () => {
  it('is bounded in bytes of source, not only in count', () => {
    const big = (i: number) => `${'x'.repeat(1024 * 1024)} ${i}`;
    const first = compileTemplate(big(0));
    expect(compileTemplate(big(0))).toBe(first);
    // 2 MiB each: 16 MiB holds 7, so after 20 more the first is gone (used once, it is spared once).
    for (let i = 1; i <= 20; i++) compileTemplate(big(i));
    expect(compileTemplate(big(0))).not.toBe(first);
    // A source larger than the whole cache is compiled, not kept.
    const huge = 'y'.repeat(9 * 1024 * 1024);
    expect(compileTemplate(huge)).not.toBe(compileTemplate(huge));
    expect(compileTemplate(huge).render(vars())).toBe(huge);
  });
});

describe('run-time template errors name where the template is', () => {
  const site = { workflow: 'main', node: 'Ask', field: 'prompt' };

  it('names workflow, node and field', () => {
    expect(() => renderTemplateAt('{{ 1 / 0 }}', vars(), site)).toThrow("workflow 'main', node 'Ask', field 'prompt': division by zero");
    expect(() => renderValueAt({ q: 'ok', items: ['{{ 1 / 0 }}'] }, vars(), { ...site, field: 'parameters' })).toThrow(
      "workflow 'main', node 'Ask', field 'parameters.items[0]'",
    );
    expect(renderValue({ n: '{{ 2 }}' }, vars())).toEqual({ n: 2 });
  });

  it('reaches the run: an llm prompt that fails to render fails the run naming its place and limit', async () => {
    const backends = createInMemoryBackends();
    const callLlm: CallLlm = async () => '{"output": "never"}';
    const { broadcastSignalsCaller } = createAllNodes(backends, { callLlm });
    const err = await orchestrate({
      config: { main: { Ask: { node_type: 'llm', event_triggers: ['START'], prompt: HOSTILE_UPPER, output_field: 'answer' } } },
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.message).toMatch(/^workflow 'main', node 'Ask', field 'prompt': template exceeded its (work|memory|time) budget/);
  });
});
