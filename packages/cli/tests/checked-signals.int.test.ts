/**
 * Checked signals and cancel on a file runtime, as a user runs them: soe send refuses what the
 * execution cannot take (exit 1, nothing sent), --signal-id applies a send once, soe cancel stops it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleArgs, parseJsonOut, type RunJson, requireBuiltCli, runCli } from './helpers.js';

beforeAll(requireBuiltCli);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'soe-cli-checked-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const claim = { claim: { employee: 'Ada', description: 'Flight Berlin-Lisbon, customer visit', amount: 740 } };

/** Runs the human-approval example up to the approval; resolves to the execution id. */
async function waitingForApproval(): Promise<string> {
  const run = await runCli([
    'run',
    ...exampleArgs('human-approval'),
    '--context',
    JSON.stringify(claim),
    '--runtime',
    `file:${dir}`,
    '--json',
    '-q',
  ]);
  expect(run.code).toBe(0);
  return parseJsonOut<RunJson>(run).executionId;
}

describe('soe send checks the signals', () => {
  it('refuses a signal no node listens to, naming APPROVED for APROVED, and sends nothing', async () => {
    const id = await waitingForApproval();
    const r = await runCli(['send', id, '--signals', 'APROVED', '--runtime', `file:${dir}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no node of workflow 'expenses' listens to 'APROVED' (did you mean 'APPROVED'?)");
    expect(r.stderr).toMatch(/signals listened to: .*'APPROVED'.*'REJECTED'/);
    // Still waiting: the right signal works afterwards.
    const ok = parseJsonOut<RunJson>(await runCli(['send', id, '--signals', 'APPROVED', '--runtime', `file:${dir}`, '--json', '-q']));
    expect(ok.signals).toEqual(['START', 'ASSESSED', 'NEEDS_APPROVAL', 'AWAITING_APPROVAL', 'APPROVED', 'PAID']);
  });

  it('applies a send with the same --signal-id once', async () => {
    const id = await waitingForApproval();
    const first = await runCli(['send', id, '--signals', 'APPROVED', '--signal-id', 'claim-1', '--runtime', `file:${dir}`, '--json', '-q']);
    expect(first.code).toBe(0);
    const again = await runCli(['send', id, '--signals', 'APPROVED', '--signal-id', 'claim-1', '--runtime', `file:${dir}`, '--json', '-q']);
    expect(again.code).toBe(0);
    expect(parseJsonOut(again)).toEqual({ executionId: id, signalId: 'claim-1', applied: false });
    const status = parseJsonOut<RunJson>(await runCli(['send', id, '--signals', 'REJECTED', '--runtime', `file:${dir}`, '--json', '-q']));
    // APPROVED appears once in the signal history: the repeated send changed nothing.
    expect(status.signals.filter((s) => s === 'APPROVED')).toEqual(['APPROVED']);
  });
});

describe('soe cancel on a file runtime', () => {
  it('cancels a waiting execution; a later send is refused as cancelled; cancelling again changes nothing', async () => {
    const id = await waitingForApproval();
    const c = await runCli(['cancel', id, '--runtime', `file:${dir}`]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe(`cancelled ${id}\n`);
    const r = await runCli(['send', id, '--signals', 'APPROVED', '--runtime', `file:${dir}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`execution '${id}' was cancelled: it accepts no more signals`);
    const again = await runCli(['cancel', id, '--runtime', `file:${dir}`, '--json']);
    expect(parseJsonOut(again)).toEqual({ executionId: id, status: 'CANCELLED', cancelled: 0 });
  });

  it('says so for an unknown execution and exits 1', async () => {
    const r = await runCli(['cancel', 'no-such-id', '--runtime', `file:${dir}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot cancel execution 'no-such-id'/);
  });
});
