/** Step I/O in `soe trace`: what --verbose and --json show, and the run flags that cap and redact it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exampleArgs, parseJsonOut, requireBuiltCli, runCli } from './helpers.js';

const CLAIM = { claim: { employee: 'Ada', description: 'Flight Berlin-Lisbon, customer visit', amount: 740 } };
const dirs: string[] = [];

async function run(extra: string[] = []): Promise<{ dir: string; id: string }> {
  requireBuiltCli();
  const dir = mkdtempSync(join(tmpdir(), 'soe-step-io-'));
  dirs.push(dir);
  const r = await runCli([
    'run',
    ...exampleArgs('human-approval'),
    '--runtime',
    `file:${dir}`,
    '--context',
    JSON.stringify(CLAIM),
    '--json',
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return { dir, id: parseJsonOut<{ executionId: string }>(r).executionId };
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('step I/O in soe trace', () => {
  it('--verbose shows the prompt, the answer, tool arguments and results, outputs and why each signal fired', async () => {
    const { dir, id } = await run();
    const r = await runCli(['trace', id, '--runtime', `file:${dir}`, '--verbose']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      / {6}prompt: \{ "prompt": "Check this expense claim.*Claim: Flight Berlin-Lisbon, customer visit — 740 EUR by Ada/,
    );
    expect(r.stdout).toMatch(/ {6}answer: \{"assessment": ?"Economy flight/);
    expect(r.stdout).toMatch(/ {6}arguments: \{"employee":"Ada","amount":740,"assessment":"Economy flight/);
    expect(r.stdout).toMatch(/ {6}result: \{"to":"manager@example.com"/);
    expect(r.stdout).toContain(
      'why: conditions · ✗ AUTO_APPROVED if "{{ context.claim.amount <= 500 }}" · ✓ NEEDS_APPROVAL if "{{ context.claim.amount > 500 }}"',
    );
    const plain = await runCli(['trace', id, '--runtime', `file:${dir}`]);
    expect(plain.stdout).not.toContain('arguments:');
  });

  it('--json carries the captured fields on the events', async () => {
    const { dir, id } = await run();
    const events = parseJsonOut<Array<Record<string, unknown>>>(await runCli(['trace', id, '--runtime', `file:${dir}`, '--json']));
    expect(events.find((e) => e.event_type === 'tool_call')).toMatchObject({
      tool_name: 'notify_manager',
      arguments: { employee: 'Ada', amount: 740 },
    });
    expect(events.find((e) => e.event_type === 'llm_call')).toMatchObject({
      node_name: 'Assess',
      response: expect.stringContaining('assessment'),
    });
  });

  it('soe run --redact and --capture-chars mask and cap what telemetry keeps', async () => {
    const { dir, id } = await run(['--redact', 'employee', '--capture-chars', '40']);
    const events = parseJsonOut<Array<Record<string, unknown>>>(await runCli(['trace', id, '--runtime', `file:${dir}`, '--json']));
    const tool = events.find((e) => e.event_type === 'tool_call')!;
    expect(tool.arguments).toMatchObject({ truncated: true, prefix: '{"employee":"[redacted]","amount":740,"a' });
    expect(JSON.stringify(events.filter((e) => e.event_type === 'tool_call'))).not.toContain('Ada');
    const verbose = await runCli(['trace', id, '--runtime', `file:${dir}`, '--verbose']);
    expect(verbose.stdout).toMatch(/arguments: \{"employee":"\[redacted\]","amount":740,"a… \(\d+ chars in all\)/);
  });

  it('refuses a --capture-chars that is not a whole number, naming the flag', async () => {
    const r = await runCli(['run', ...exampleArgs('human-approval'), '--capture-chars', 'many']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--capture-chars must be a whole number of at least 0, got 'many'");
  });
});
