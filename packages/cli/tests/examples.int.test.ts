import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CASES } from './example-cases.js';
import { exampleArgs, newest, parseJsonOut, type RunJson, requireBuiltCli, runCli } from './helpers.js';

beforeAll(requireBuiltCli);

describe('soe run: every example on the memory runtime', () => {
  for (const c of EXAMPLE_CASES) {
    it(c.name, async () => {
      const args = [...exampleArgs(c.example), '--json', ...(c.context ? ['--context', JSON.stringify(c.context)] : [])];
      const r = await runCli(['run', ...args]);
      const out = parseJsonOut<RunJson>(r);
      expect(Object.keys(out).sort()).toEqual(
        out.status === 'failed'
          ? ['context', 'error', 'events', 'executionId', 'signals', 'status']
          : ['context', 'events', 'executionId', 'signals', 'status'],
      );
      expect(r.code).toBe(out.status === 'completed' ? 0 : 1);
      c.check(out);
    });
  }
});

describe('soe run: text output', () => {
  it('traces signals and nodes on stderr and prints status, context and a summary on stdout', async () => {
    const r = await runCli(['run', ...exampleArgs('routing'), '--context', '{"ticket": "I was charged twice on my last invoice"}']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('⇢ START');
    expect(r.stderr).toMatch(/✓ Classify \(llm\) \d+ ms → BILLING · 1 llm call/);
    expect(r.stderr).toMatch(/✓ BillingDesk \(tool\) \d+ ms → ROUTED · 1 tool call/);
    expect(r.stdout).toMatch(/^status\s+completed/m);
    expect(r.stdout).toMatch(/^ {2}triage_reason\s+"The customer disputes an amount on an invoice\."/m);
    expect(r.stdout).toMatch(/^summary\s+3 nodes run · 4 signals · 1 llm call · 1 tool call · 0 errors · \d+ ms$/m);
  });

  it('--quiet leaves stderr empty', async () => {
    const r = await runCli(['run', ...exampleArgs('fan-out'), '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/4 executions/);
  });

  it('a failed run prints the error and exits 1', async () => {
    const r = await runCli(['run', ...exampleArgs('tool-pipeline'), '--context', '{"order_id": "B-1"}']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^status\s+failed/m);
    expect(r.stdout).toMatch(/^error\s+NodeExecutionError: workflow 'checkout', node 'FetchOrder' failed: unknown order 'B-1'/m);
    expect(r.stderr).toMatch(/✗ FetchOrder \(tool\)/);
  });

  it('an llm node without a model fails with a hint naming --llm', async () => {
    const r = await runCli([
      'run',
      'examples/routing/workflow.yaml',
      '--tools',
      'examples/routing/tools.mjs',
      '--context',
      '{"ticket": "a long enough ticket text"}',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^hint\s+.*--llm scripted:FILE/m);
  });
});

describe('human approval on a file runtime: soe run stops, soe send resumes, soe trace shows it all', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'soe-cli-approval-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const claim = { claim: { employee: 'Ada', description: 'Flight Berlin-Lisbon, customer visit', amount: 740 } };

  it('APPROVED pays the claim, with the tools and model soe run used', async () => {
    const run = await runCli(['run', ...exampleArgs('human-approval'), '--context', JSON.stringify(claim), '--runtime', `file:${dir}`]);
    expect(run.code).toBe(0);
    const id = /^execution\s+(\S+)/m.exec(run.stdout)?.[1];
    expect(id).toBeTruthy();
    expect(run.stdout).toMatch(/^waiting\s+Pay ← APPROVED · Decline ← REJECTED/m);
    expect(run.stdout).toContain(`resume: soe send ${id} --signals APPROVED --runtime file:${dir}`);

    const sent = await runCli(['send', id!, '--signals', 'APPROVED', '--runtime', `file:${dir}`, '--json']);
    expect(sent.code).toBe(0);
    const out = parseJsonOut<RunJson>(sent);
    expect(out.executionId).toBe(id);
    expect(out.status).toBe('completed');
    expect(out.signals).toEqual(['START', 'ASSESSED', 'NEEDS_APPROVAL', 'AWAITING_APPROVAL', 'APPROVED', 'PAID']);
    expect(newest(out.context, 'payment')).toMatchObject({ employee: 'Ada', amount: 740, status: 'scheduled' });
    expect(sent.stderr).toMatch(/✓ Pay \(tool\) \d+ ms → PAID/);

    const trace = await runCli(['trace', id!, '--runtime', `file:${dir}`]);
    expect(trace.code).toBe(0);
    const lines = trace.stdout.split('\n');
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    expect(at('✓ Assess (llm)')).toBeGreaterThan(-1);
    expect(at('⇢ APPROVED')).toBeGreaterThan(at('✓ RequestApproval (tool)'));
    expect(at('✓ Pay (tool)')).toBeGreaterThan(at('⇢ APPROVED'));
    expect(lines[0]).toMatch(/^\s+\+0ms {2}▶ workflow expenses · signals START$/);
  });

  it('REJECTED declines another claim', async () => {
    const run = await runCli([
      'run',
      ...exampleArgs('human-approval'),
      '--context',
      JSON.stringify(claim),
      '--runtime',
      `file:${dir}`,
      '--json',
    ]);
    const { executionId } = parseJsonOut<RunJson>(run);
    const sent = parseJsonOut<RunJson>(
      await runCli(['send', executionId, '--signals', 'REJECTED', '--runtime', `file:${dir}`, '--json', '--quiet']),
    );
    expect(sent.signals.slice(-2)).toEqual(['REJECTED', 'DECLINED']);
    expect(newest(sent.context, 'notice')).toMatchObject({ message: 'Your claim of 740 EUR was declined.' });
  });

  it('soe trace --json returns every event, tagged with its execution', async () => {
    const run = parseJsonOut<RunJson>(await runCli(['run', ...exampleArgs('fan-out'), '--runtime', `file:${dir}`, '--json', '-q']));
    const trace = await runCli(['trace', run.executionId, '--runtime', `file:${dir}`, '--json']);
    const events = parseJsonOut<RunJson['events']>(trace);
    expect(events.length).toBe(run.events.length);
    expect(new Set(events.map((e) => e.execution_id)).size).toBe(4);
  });

  it('soe send to an unknown execution says so and exits 1', async () => {
    const r = await runCli(['send', 'no-such-id', '--signals', 'APPROVED', '--runtime', `file:${dir}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/execution 'no-such-id' was not found in/);
    expect(r.stderr).toMatch(/hint: /);
  });
});
