/**
 * The `soe ui` server's JSON API over each runtime it serves — a file runtime written by `soe run`, the
 * local AWS runtime (real worker on the DynamoDB/SQS emulators) and a deployed stack reached through
 * its real status and signal handlers over the Lambda Invoke protocol — and the guards of a loopback
 * server (foreign Host or Origin, bodies that are not JSON). All on loopback.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalRuntime } from '@soe/aws';
import { orchestrate, parseConfig, type ToolsRegistry } from '@soe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionSummary, ExecutionView } from '../src/ui/execution-view.js';
import { startUiServer, type UiServer } from '../src/ui/ui-server.js';
import { BackendsUiSource, FileUiSource, RemoteUiSource } from '../src/ui/ui-sources.js';
import { BIN, exampleArgs, parseJsonOut, ROOT, requireBuiltCli, runCli } from './helpers.js';
import { type LambdaInvokeServer, startLambdaInvokeServer } from './lambda-invoke-server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const WORKFLOW = 'examples/human-approval/workflow.yaml';
const CLAIM = { claim: { employee: 'Ada', description: 'Flight Berlin-Lisbon, customer visit', amount: 740 } };

/** A raw request, so Host and Origin can be set as another page or a rebinding DNS name would. */
function call(
  url: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const getView = async (url: string, id: string) => {
  const r = await call(url, `/api/executions/${id}`);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as unknown as ExecutionView;
};
const post = (url: string, id: string, action: string, body: unknown) =>
  call(url, `/api/executions/${id}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('soe ui API on a file runtime', () => {
  let dir: string;
  let ui: UiServer;
  let id: string;

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'soe-ui-api-'));
    const r = await runCli([
      'run',
      ...exampleArgs('human-approval'),
      '--runtime',
      `file:${dir}`,
      '--context',
      JSON.stringify(CLAIM),
      '--json',
    ]);
    id = parseJsonOut<{ executionId: string }>(r).executionId;
    ui = await startUiServer({ source: new FileUiSource(dir), prices: { inputPerMillion: 3, outputPerMillion: 15 } });
  });
  afterAll(async () => {
    await ui?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the execution and serves its view: graph, awaited signals, runs with their I/O, context', async () => {
    const list = await call(ui.url, '/api/executions');
    expect((list.json.executions as ExecutionSummary[]).map((e) => [e.executionId, e.workflowName, e.status, e.nodes])).toEqual([
      [id, 'expenses', 'WAITING', 3],
    ]);
    const v = await getView(ui.url, id);
    expect(v.graph?.workflows.map((w) => w.nodes.map((n) => n.name))).toEqual([['Assess', 'Gate', 'RequestApproval', 'Pay', 'Decline']]);
    expect(v.awaited).toEqual([
      { signal: 'APPROVED', received: false, nodes: ['Pay'] },
      { signal: 'REJECTED', received: false, nodes: ['Decline'] },
    ]);
    expect(v.ran).toEqual(['Assess', 'Gate', 'RequestApproval']);
    const request = v.runs.find((r) => r.node === 'RequestApproval')!;
    expect(request).toMatchObject({ ok: true, triggeredBy: ['NEEDS_APPROVAL'], emitted: ['AWAITING_APPROVAL'] });
    expect(request.calls[0]).toMatchObject({ event_type: 'tool_call', arguments: { employee: 'Ada', amount: 740 } });
    expect(Object.keys(v.parts[0]!.fields)).toEqual(['claim', 'assessment', 'approval_request']);
    expect(v.usage).toMatchObject({ calls: 1, cost: 0 });
    expect(v.actions).toEqual({ signal: true, cancel: true, redrive: false });
  });

  it('sends a signal through soe send (the run’s own tools), then cancels; redrive is refused here', async () => {
    const sent = await post(ui.url, id, 'signal', { signals: ['APPROVED'] });
    expect(sent).toEqual({ status: 200, json: { ok: true, message: 'sent APPROVED: completed' } });
    const v = await getView(ui.url, id);
    expect(v.status).toBe('IDLE');
    expect(v.ran).toEqual(['Assess', 'Gate', 'RequestApproval', 'Pay']);
    expect(v.parts[0]!.fields.payment).toEqual([{ employee: 'Ada', amount: 740, transfer_id: 'TR-74000', status: 'scheduled' }]);
    const refused = await post(ui.url, id, 'redrive', {});
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatch(/redrive needs a deployed stack/);
    expect((await post(ui.url, id, 'cancel', {})).json).toEqual({ ok: true, message: 'cancelled 1 execution(s)' });
    expect((await getView(ui.url, id)).status).toBe('CANCELLED');
  });

  it('answers errors that name what is wrong, and changes nothing', async () => {
    expect(await call(ui.url, '/api/executions/no-such-id')).toEqual({
      status: 404,
      json: { error: `execution 'no-such-id' was not found in file:${dir}` },
    });
    expect((await post(ui.url, id, 'signal', { signals: [] })).json.error).toMatch(/at least one signal name/);
    const notJson = await call(ui.url, `/api/executions/${id}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(notJson.status).toBe(415);
  });

  it('refuses a foreign Host (DNS rebinding) and a cross-origin action', async () => {
    const rebound = await call(ui.url, '/api/executions', { headers: { host: 'evil.example:4400' } });
    expect(rebound.status).toBe(403);
    const port = new URL(ui.url).port;
    const crossSite = await call(ui.url, `/api/executions/${id}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example', host: `127.0.0.1:${port}` },
      body: '{}',
    });
    expect(crossSite).toEqual({ status: 403, json: { error: "origin 'http://evil.example' may not act here" } });
  });

  it('serves the page and its bundled app from the package (no CDN)', async () => {
    const page = await fetch(`${ui.url}/executions/${id}`);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/assets/app.js">');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await fetch(`${ui.url}/assets/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });
});

describe('soe ui API on local-aws and on a deployed stack', () => {
  let runtime: LocalRuntime;
  let server: LambdaInvokeServer;
  let dir: string;
  const uis: UiServer[] = [];

  beforeAll(async () => {
    const aws = await import('@soe/aws');
    const core = await import('@soe/core');
    const { tools } = (await import('../../../examples/human-approval/tools.mjs')) as { tools: ToolsRegistry };
    const callLlm = core.createModelProvider({ provider: 'scripted', file: 'examples/human-approval/model.yaml', cwd: ROOT });
    runtime = await aws.createLocalRuntime({ callLlm, toolsRegistry: tools });
    const { dynamo, sqs, tableName, queueUrl, delayQueueUrl } = runtime.emulators;
    const deps = { dynamo, sqs, tableName, queueUrl, delayQueueUrl, logger: aws.silentLogger };
    const yaml = readFileSync(join(ROOT, WORKFLOW), 'utf8');
    server = await startLambdaInvokeServer({
      'soe-start': aws.createStartHandler({ ...deps, workflows: { expenses: yaml } }),
      'soe-signal': aws.createSignalHandler(deps),
      'soe-status': aws.createStatusHandler(deps),
    });
    dir = mkdtempSync(join(tmpdir(), 'soe-ui-stack-'));
    writeFileSync(
      join(dir, 'cdk-outputs.json'),
      JSON.stringify({ Soe: { StartFunctionName: 'soe-start', SignalFunctionName: 'soe-signal', StatusFunctionName: 'soe-status' } }),
    );
  });
  afterAll(async () => {
    for (const ui of uis) await ui.close();
    await server?.close();
    await runtime?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('local-aws: serves the runtime’s backends and sends signals through its queue', async () => {
    const config = readFileSync(join(ROOT, WORKFLOW), 'utf8');
    const id = await orchestrate({
      config,
      initialWorkflowName: 'expenses',
      initialSignals: ['START'],
      initialContext: CLAIM,
      backends: runtime.backends,
      broadcastSignalsCaller: runtime.broadcastSignalsCaller,
    });
    expect(await runtime.waitForIdle(id)).toEqual({ status: 'idle' });
    const ui = await startUiServer({
      source: new BackendsUiSource('local-aws', runtime.backends, () => [id], runtime.broadcastSignalsCaller),
    });
    uis.push(ui);
    const v = await getView(ui.url, id);
    expect(v.status).toBe('WAITING');
    expect(v.runs.find((r) => r.node === 'Assess')!.calls[0]).toMatchObject({
      event_type: 'llm_call',
      response: expect.stringContaining('within policy'),
    });
    expect((await post(ui.url, id, 'signal', { signals: ['REJECTED'] })).status).toBe(200);
    const done = await until(
      () => getView(ui.url, id),
      (x) => x.ran.includes('Decline') && x.status === 'IDLE',
      'Decline to run',
    );
    expect(done.parts[0]!.fields.notice).toBeDefined();
  });

  it('a deployed stack: lists the ids given, reads status with histories and events, draws the --config graph, signals', async () => {
    const env = { outputs: join(dir, 'cdk-outputs.json'), endpoint: server.endpoint };
    const { SoeRemote } = await import('../src/remote/soe-remote.js');
    const id = await new SoeRemote(env).start({
      workflowName: 'expenses',
      initialWorkflowName: 'expenses',
      initialSignals: ['START'],
      initialContext: CLAIM,
    });
    const registry = parseConfig(readFileSync(join(ROOT, WORKFLOW), 'utf8')).workflows as Record<string, unknown>;
    const ui = await startUiServer({ source: new RemoteUiSource(env, [id], registry) });
    uis.push(ui);
    const waiting = await until(
      () => getView(ui.url, id),
      (x) => x.status === 'WAITING',
      'the stack to go idle, waiting for approval',
    );
    expect(waiting.ran).toEqual(['Assess', 'Gate', 'RequestApproval']);
    expect(waiting.graph?.workflows[0]?.name).toBe('expenses');
    expect(waiting.awaited.map((a) => a.signal)).toEqual(['APPROVED', 'REJECTED']);
    expect(waiting.runs.find((r) => r.node === 'RequestApproval')!.calls[0]).toMatchObject({ arguments: { employee: 'Ada', amount: 740 } });
    expect(waiting.actions).toEqual({ signal: true, cancel: true, redrive: false });
    const list = await call(ui.url, '/api/executions');
    expect((list.json.executions as ExecutionSummary[]).map((e) => e.executionId)).toEqual([id]);
    expect((await post(ui.url, id, 'signal', { signals: ['APPROVED'] })).json.message).toMatch(/^sent APPROVED/);
    const paid = await until(
      () => getView(ui.url, id),
      (x) => x.status === 'IDLE' && x.ran.includes('Pay'),
      'Pay to run on the stack',
    );
    expect(paid.parts[0]!.fields.payment).toEqual([{ employee: 'Ada', amount: 740, transfer_id: 'TR-74000', status: 'scheduled' }]);
  });
});

describe('soe run --runtime local-aws --ui', () => {
  it('serves the run from the process that holds the runtime, takes a signal from the page, stops on Ctrl-C', async () => {
    requireBuiltCli();
    const child = spawn(
      process.execPath,
      [
        BIN,
        'run',
        ...exampleArgs('human-approval'),
        '--runtime',
        'local-aws',
        '--context',
        JSON.stringify(CLAIM),
        '--json',
        '--ui',
        '--port',
        '0',
      ],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /soe ui: local-aws run \S+ at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`soe run exited (${code}) before serving:\n${stderr}`)));
    });
    // --json still holds one JSON object on stdout: the serving line went to stderr.
    const { executionId: id } = JSON.parse(stdout) as { executionId: string };
    const list = await call(url, '/api/executions');
    expect((list.json.executions as ExecutionSummary[]).map((e) => [e.executionId, e.status])).toEqual([[id, 'WAITING']]);
    expect((await post(url, id, 'signal', { signals: ['APPROVED'] })).status).toBe(200);
    const v = await getView(url, id);
    expect(v.ran).toEqual(['Assess', 'Gate', 'RequestApproval', 'Pay']);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
