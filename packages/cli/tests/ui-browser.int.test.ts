/**
 * `soe ui` in a real browser: Debian's Chromium driven by playwright-core opens the pages of example
 * runs kept by a file runtime and checks what a person sees. Skipped, saying why, only where no Chromium
 * exists (at /usr/bin/chromium, or $SOE_CHROMIUM). With SOE_UI_SCREENSHOTS=DIR (npm run screenshots) the
 * home and execution pages are saved as DIR/ui-home.png and DIR/ui-execution.png for the README.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, exampleArgs, parseJsonOut, ROOT, requireBuiltCli, runCli } from './helpers.js';

const CHROMIUM = process.env.SOE_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `skipping the soe ui browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set SOE_CHROMIUM to a Chromium binary)`,
  );
}

const CLAIM = { claim: { employee: 'Ada', description: 'Flight Berlin-Lisbon, customer visit', amount: 740 } };

/** Starts `soe ui --runtime file:DIR --port 0` and resolves with its URL (printed on stdout). */
function serveUi(dir: string): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'ui', '--runtime', `file:${dir}`, '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolvePromise({ url: m[1]!, child });
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => reject(new Error(`soe ui exited (${code}) before serving:\n${out}\n${err}`)));
  });
}

async function runExample(dir: string, context: object): Promise<string> {
  const r = await runCli([
    'run',
    ...exampleArgs('human-approval'),
    '--runtime',
    `file:${dir}`,
    '--context',
    JSON.stringify(context),
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return parseJsonOut<{ executionId: string }>(r).executionId;
}

describe.skipIf(!hasChromium)('soe ui in Chromium', () => {
  let dir: string;
  let ui: { url: string; child: ChildProcess };
  let browser: BrowserContext;
  let page: Page;
  let waiting: string;

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'soe-ui-'));
    waiting = await runExample(dir, CLAIM);
    ui = await serveUi(dir);
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'soe-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    ui?.child.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the execution on the home page, waiting, with its workflow and node runs', async () => {
    await page.goto(ui.url);
    const row = page.locator(`tr[data-execution="${waiting}"]`);
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual([
      waiting,
      'expenses',
      'WAITING',
      expect.any(String),
      expect.any(String),
      '3',
      '0',
      '0',
    ]);
    const shots = process.env.SOE_UI_SCREENSHOTS;
    if (shots) {
      mkdirSync(resolve(ROOT, shots), { recursive: true });
      await page.screenshot({ path: resolve(ROOT, shots, 'ui-home.png') });
    }
  });

  it('shows the execution page: SVG graph with every node, the awaited signals, the context fields', async () => {
    await page.click(`a[href="/executions/${waiting}"]`);
    await page.waitForURL(`**/executions/${waiting}`);
    const svg = page.locator('svg.graph');
    await svg.waitFor();
    for (const node of ['Assess', 'Gate', 'RequestApproval', 'Pay', 'Decline'])
      await expect(svg.locator(`[data-node="${node}"]`).isVisible()).resolves.toBe(true);
    // The path taken: the three nodes that ran, not the two that wait.
    expect(await svg.locator('.node.ran').evaluateAll((els) => els.map((e) => e.getAttribute('data-node')))).toEqual([
      'Assess',
      'Gate',
      'RequestApproval',
    ]);
    expect(await svg.locator('.signal.awaited').evaluateAll((els) => els.map((e) => e.getAttribute('data-signal')).sort())).toEqual([
      'APPROVED',
      'REJECTED',
    ]);
    expect(await page.locator('.awaited-signal[data-awaited="APPROVED"]').textContent()).toBe('APPROVED');
    expect(await page.locator('header .status').textContent()).toBe('WAITING');
    const fields = page.locator('table.fields tr');
    expect(await fields.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-field')))).toEqual([
      'claim',
      'assessment',
      'approval_request',
    ]);
    expect(await page.locator('tr[data-field="assessment"]').textContent()).toContain('within policy, but over 500 EUR');
    const dir = process.env.SOE_UI_SCREENSHOTS;
    if (dir) {
      await page.click('.tl-row[data-node="Assess"]');
      await page.locator('.run-detail').waitFor();
      mkdirSync(resolve(ROOT, dir), { recursive: true });
      await page.screenshot({ path: resolve(ROOT, dir, 'ui-execution.png'), fullPage: true });
    }
  });

  it('shows a run’s inputs and outputs when it is clicked: the prompt and answer, the tool’s arguments and result', async () => {
    await page.click('.tl-row[data-node="Assess"]');
    const detail = page.locator('.run-detail');
    await detail.locator('h3', { hasText: 'Assess' }).waitFor();
    expect(await detail.locator('.io.prompt pre').textContent()).toContain('Claim: Flight Berlin-Lisbon, customer visit — 740 EUR by Ada');
    expect(await detail.locator('.io.response pre').textContent()).toContain('Economy flight to the Lisbon customer visit');
    await page.click('.tl-row[data-node="RequestApproval"]');
    await detail.locator('h3', { hasText: 'RequestApproval' }).waitFor();
    expect(JSON.parse((await detail.locator('.io.arguments pre').textContent()) ?? '')).toMatchObject({ employee: 'Ada', amount: 740 });
    expect(JSON.parse((await detail.locator('.io.result pre').textContent()) ?? '')).toMatchObject({ to: 'manager@example.com' });
    await page.click('.tl-row[data-node="Gate"]');
    await detail.locator('h3', { hasText: 'Gate' }).waitFor();
    expect(await detail.locator('.reasons li').allTextContents()).toEqual([
      '✗ AUTO_APPROVED if {{ context.claim.amount <= 500 }}',
      '✓ NEEDS_APPROVAL if {{ context.claim.amount > 500 }}',
    ]);
  });

  it('sends nothing when the confirmation is dismissed, and resumes the run when it is accepted', async () => {
    page.once('dialog', (d) => void d.dismiss());
    await page.click('button[data-action="send-REJECTED"]');
    expect(await page.locator('header .status').textContent()).toBe('WAITING');
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.click('button[data-action="send-APPROVED"]');
    await page.locator('header .status', { hasText: 'IDLE' }).waitFor();
    expect(asked).toBe(`Send APPROVED to execution ${waiting}?`);
    const ran = await page.locator('svg.graph .node.ran').evaluateAll((els) => els.map((e) => e.getAttribute('data-node')));
    // Pay ran on APPROVED; Decline did not: the dismissed REJECTED was never sent.
    expect(ran).toEqual(['Assess', 'Gate', 'RequestApproval', 'Pay']);
    expect(await page.locator('tr[data-field="payment"]').isVisible()).toBe(true);
    expect(await page.locator('.awaited-signal.received').textContent()).toBe('APPROVED ✓');
  });

  it('updates an open page while another process moves the run on (live)', async () => {
    const id = await runExample(dir, CLAIM);
    await page.goto(`${ui.url}/executions/${id}`);
    await page.locator('header .status', { hasText: 'WAITING' }).waitFor();
    const sent = await runCli(['send', id, '--signals', 'REJECTED', '--runtime', `file:${dir}`, '--quiet']);
    expect(sent.code, sent.stderr).toBe(0);
    // No reload: the page polls.
    await page.locator('svg.graph .node.ran[data-node="Decline"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('header .status').textContent()).toBe('IDLE');
  });

  it('nests child executions under the run that started them, and draws the child workflow', async () => {
    const r = await runCli(['run', ...exampleArgs('fan-out'), '--runtime', `file:${dir}`, '--json']);
    const id = parseJsonOut<{ executionId: string }>(r).executionId;
    await page.goto(`${ui.url}/executions/${id}`);
    await page.locator('.timeline').waitFor();
    const rows = await page
      .locator('.timeline > div')
      .evaluateAll((els) => els.map((e) => (e.classList.contains('tl-exec') ? 'child' : `${e.getAttribute('data-node')}`)));
    // Each child's run sits under the Summarize (child) run that started it, before CollectAll runs.
    expect(rows.slice(0, 8)).toEqual(['LoadDocuments', 'Summarize', 'child', 'Summarize', 'child', 'Summarize', 'child', 'Summarize']);
    expect(await page.locator('.graph-title').allTextContents()).toEqual([
      'workflow digest',
      'workflow summarize_one · 3 executions',
      'main execution',
      ...Array(3).fill(expect.stringMatching(/^child .* · summarize_one$/)),
    ]);
    // SUMMARY_READY comes up from the children: not a signal a person is awaited to send.
    expect(await page.locator('svg.graph .signal.awaited').count()).toBe(0);
  });

  it('puts the error of a FAILED run at the top', async () => {
    const work = mkdtempSync(join(tmpdir(), 'soe-ui-failing-'));
    writeFileSync(
      join(work, 'workflow.yaml'),
      'main:\n  Charge:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: charge\n    parameters: { amount: 5 }\n',
    );
    writeFileSync(join(work, 'tools.mjs'), "export const tools = { charge: () => { throw new Error('card declined'); } };\n");
    const r = await runCli(['run', join(work, 'workflow.yaml'), '--tools', join(work, 'tools.mjs'), '--runtime', `file:${dir}`, '--json']);
    const id = parseJsonOut<{ executionId: string }>(r).executionId;
    await page.goto(`${ui.url}/executions/${id}`);
    const banner = page.locator('.error-banner[role="alert"]');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/^FAILED in Charge: .*card declined/);
    expect(await page.locator('header .status').textContent()).toBe('FAILED');
    rmSync(work, { recursive: true, force: true });
  });
});
