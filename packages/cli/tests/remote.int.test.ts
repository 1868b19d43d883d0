import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalRuntime } from '@soe/aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newest, parseJsonOut, ROOT, requireBuiltCli, runCli } from './helpers.js';
import { type LambdaInvokeServer, startLambdaInvokeServer } from './lambda-invoke-server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// A deployed stack on one machine: the REAL start, signal and status handlers of @soe/aws behind a
// server that speaks the Lambda Invoke protocol, on the DynamoDB and SQS emulators of the local
// runtime, whose worker runs the human-approval example's tools and scripted model. The soe command
// runs as a child process and reaches it with --endpoint, as it would reach LocalStack.
const WORKFLOW = 'examples/human-approval/workflow.yaml';
const CLAIM = { claim: { employee: 'Ada', description: 'Flight Berlin-Lisbon, customer visit', amount: 740 } };

let runtime: LocalRuntime;
let server: LambdaInvokeServer;
let dir: string;
let outputs: string;
let remote: string[];
const blobs: string[] = [];
let flakyFixed = false;

interface StatusJson {
  executionId: string;
  status: string;
  inFlight: number;
  error?: string;
  failedNode?: string;
  context?: Record<string, unknown> & { __operational__: { signals: string[] } };
}

beforeAll(async () => {
  requireBuiltCli();
  const aws = await import('@soe/aws');
  const core = await import('@soe/core');
  const { tools } = (await import('../../../examples/human-approval/tools.mjs')) as { tools: import('@soe/core').ToolsRegistry };
  const callLlm = core.createModelProvider({ provider: 'scripted', file: 'examples/human-approval/model.yaml', cwd: ROOT });
  // `blob` appends 1.4 MB values: six of them make a context larger than one Lambda answer may be.
  const blob = () => {
    const v = randomBytes(700_000).toString('hex');
    blobs.push(v);
    return v;
  };
  // `flaky` fails transiently until `fixed`: its run ends FAILED once the queue's retries run out.
  const flaky = () => {
    if (!flakyFixed) throw new core.TransientError('service unavailable');
    return 'answer';
  };
  runtime = await aws.createLocalRuntime({ callLlm, toolsRegistry: { ...tools, blob, flaky }, backoffSeconds: () => 0 });
  const { dynamo, sqs, tableName, queueUrl, delayQueueUrl } = runtime.emulators;
  const deps = { dynamo, sqs, tableName, queueUrl, delayQueueUrl, logger: aws.silentLogger };
  const yaml = readFileSync(join(ROOT, WORKFLOW), 'utf8');
  server = await startLambdaInvokeServer({
    'soe-start': aws.createStartHandler({ ...deps, workflows: { expenses: yaml } }),
    'soe-signal': aws.createSignalHandler(deps),
    'soe-status': aws.createStatusHandler(deps),
    'soe-oversized': () => ({ executionId: 'x', status: 'IDLE', inFlight: 0, context: { big: ['y'.repeat(6_500_000)] } }),
    'soe-broken': () => {
      throw new TypeError('Cannot read properties of undefined (reading "tableName")');
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'soe-cli-remote-'));
  outputs = join(dir, 'cdk-outputs.json');
  // As `cdk deploy --outputs-file` writes it for the stack of lib/soe-stack.ts.
  writeFileSync(
    outputs,
    JSON.stringify({
      Soe: {
        StartFunctionName: 'soe-start',
        SignalFunctionName: 'soe-signal',
        StatusFunctionName: 'soe-status',
        WorkerFunctionName: 'soe-worker',
      },
    }),
  );
  remote = ['--outputs', outputs, '--endpoint', server.endpoint];
});

afterAll(async () => {
  await server?.close();
  await runtime?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// No AWS credentials in the child's environment: with --endpoint the command uses dummy ones.
const env = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_REGION: '' };

describe('remote commands against a stack served over Lambda Invoke', () => {
  it('start → wait (idle, waiting for approval) → send APPROVED → wait (paid) → status → trace', async () => {
    const started = await runCli(['start', WORKFLOW, '--context', JSON.stringify(CLAIM), ...remote], { env });
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.invocations.at(-1)).toMatchObject({
      functionName: 'soe-start',
      payload: { initialWorkflowName: 'expenses', initialSignals: ['START'], initialContext: CLAIM },
    });

    const waited = await runCli(['wait', id, '--interval', '0.05', '--json', ...remote], { env });
    expect(waited.code).toBe(0);
    const idle = parseJsonOut<StatusJson>(waited);
    expect(idle).toMatchObject({ executionId: id, status: 'IDLE', inFlight: 0 });
    expect(idle.context!.__operational__.signals).toEqual(['START', 'ASSESSED', 'NEEDS_APPROVAL', 'AWAITING_APPROVAL']);

    const sent = await runCli(['send', id, '--signals', 'APPROVED', ...remote], { env });
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(new RegExp(`^sent APPROVED to ${id} \\(broadcast \\S+\\)`));
    expect(server.invocations.at(-1)).toMatchObject({ functionName: 'soe-signal', payload: { executionId: id, signals: ['APPROVED'] } });

    const done = await runCli(['wait', id, '--interval', '0.05', ...remote], { env });
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^status\s+IDLE/m);
    expect(done.stdout).toMatch(/^ {2}payment\s+\{"employee":"Ada","amount":740,"transfer_id":"TR-74000","status":"scheduled"\}/m);
    expect(done.stdout).toMatch(/^signals\s+START → ASSESSED → NEEDS_APPROVAL → AWAITING_APPROVAL → APPROVED → PAID$/m);

    const status = parseJsonOut<StatusJson>(await runCli(['status', id, '--context', '--json', ...remote], { env }));
    expect(newest(status.context!, 'payment')).toMatchObject({ status: 'scheduled' });

    const trace = await runCli(['trace', id, ...remote], { env });
    expect(trace.code).toBe(0);
    const lines = trace.stdout.split('\n');
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    expect(at('✓ Assess (llm)')).toBeGreaterThan(-1);
    expect(at('✓ Pay (tool)')).toBeGreaterThan(at('⇢ APPROVED'));
  });

  it('start --wait --json with the function names given as flags and the workflow deployed with the stack', async () => {
    const r = await runCli(
      [
        'start',
        '--deployed',
        'expenses',
        '--workflow',
        'expenses',
        '--context',
        JSON.stringify({ claim: { employee: 'Grace', description: 'Team lunch', amount: 54 } }),
        '--wait',
        '--interval',
        '0.05',
        '--json',
        '--start-function',
        'soe-start',
        '--status-function',
        'arn:aws:lambda:us-east-1:000000000000:function:soe-status',
        '--endpoint',
        server.endpoint,
      ],
      { env },
    );
    expect(r.code).toBe(0);
    const s = parseJsonOut<StatusJson>(r);
    expect(s.status).toBe('IDLE');
    expect(s.context!.__operational__.signals).toEqual(['START', 'ASSESSED', 'AUTO_APPROVED', 'PAID']);
    expect(
      server.invocations.find(
        (i) => i.functionName === 'soe-start' && (i.payload as { workflowName?: string }).workflowName === 'expenses',
      ),
    ).toBeTruthy();
  });

  it('function names come from SOE_*_FUNCTION too, and a failed node shows as FAILED with exit 1', async () => {
    const yaml = join(dir, 'failing.yaml');
    writeFileSync(yaml, 'main:\n  Explode:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: not_registered\n');
    const fnEnv = { ...env, SOE_START_FUNCTION: 'soe-start', SOE_STATUS_FUNCTION: 'soe-status' };
    const r = await runCli(['start', yaml, '--wait', '--interval', '0.05', '--endpoint', server.endpoint], { env: fnEnv, cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^status\s+FAILED/m);
    expect(r.stdout).toMatch(/^error\s+.*tool 'not_registered' not found in the tools registry/m);
    expect(r.stdout).toMatch(/^failed at\s+node Explode/m);
  });

  it('a config is validated locally before anything is sent', async () => {
    const before = server.invocations.length;
    const r = await runCli(['start', 'packages/cli/tests/fixtures/broken.yaml', ...remote], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken.yaml:5:7: error: workflow 'main', node 'Check', field 'node_type'/);
    expect(server.invocations.length).toBe(before);
  });

  it('a request the handler rejects is shown with its type and message', async () => {
    const r = await runCli(['start', '--deployed', 'nope', '--workflow', 'main', ...remote], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /soe: error: the start function rejected the request: RequestValidationError: no deployed workflow file 'nope' \(deployed: expenses\)/,
    );
    expect(r.stderr).toMatch(/hint: check the flags/);
  });

  it('send refuses a signal no node listens to (exit 1); cancel → CANCELLED, later sends refused', async () => {
    const started = await runCli(['start', WORKFLOW, '--context', JSON.stringify(CLAIM), ...remote], { env });
    const id = started.stdout.trim();
    expect((await runCli(['wait', id, '--interval', '0.05', ...remote], { env })).code).toBe(0);
    const typo = await runCli(['send', id, '--signals', 'APROVED', ...remote], { env });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(
      "SignalRefusedError: execution '" + id + "': no node of workflow 'expenses' listens to 'APROVED' (did you mean 'APPROVED'?)",
    );
    const cancelled = await runCli(['cancel', id, ...remote], { env });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toBe(`cancelled ${id}\n`);
    expect(server.invocations.at(-1)).toMatchObject({ functionName: 'soe-signal', payload: { action: 'cancel', executionId: id } });
    const status = await runCli(['status', id, '--no-color', ...remote], { env });
    expect(status.stdout).toMatch(/^status\s+CANCELLED \(cancelled: nothing more runs, signals are refused\)$/m);
    const late = await runCli(['send', id, '--signals', 'APPROVED', ...remote], { env });
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(`was cancelled: it accepts no more signals`);
  });

  it('redrive: a tool failing until fixed ends FAILED; after the fix, soe redrive runs it to IDLE', async () => {
    const file = join(dir, 'flaky.yaml');
    writeFileSync(file, 'main:\n  Call:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: flaky\n    output_field: out\n');
    flakyFixed = false;
    const id = (await runCli(['start', file, ...remote], { env })).stdout.trim();
    const failed = await runCli(['wait', id, '--interval', '0.1', '--timeout', '60', '--json', ...remote], { env });
    expect(failed.code).toBe(1);
    expect(parseJsonOut<StatusJson>(failed)).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/service unavailable/) });
    // The cause is fixed: the redrive re-sends the broadcast whose retries ran out.
    flakyFixed = true;
    const redriven = await runCli(['redrive', id, ...remote], { env });
    expect(redriven.code, redriven.stderr).toBe(0);
    expect(redriven.stdout).toMatch(
      new RegExp(`^redriven START in ${id} \\(broadcast \\S+ → \\S+\\), clearing: .*service unavailable`, 'm'),
    );
    const done = parseJsonOut<StatusJson>(await runCli(['wait', id, '--interval', '0.05', '--json', ...remote], { env }));
    expect(done.status).toBe('IDLE');
    expect(newest(done.context!, 'out')).toBe('answer');
    const again = await runCli(['redrive', id, ...remote], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`execution '${id}' is IDLE, not FAILED: only a failed execution can be redriven`);
  }, 90_000);

  it('a signal to an execution that does not exist is refused by the signal function', async () => {
    const r = await runCli(['send', 'no-such-execution', '--signals', 'APPROVED', ...remote], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/soe: error: the signal function rejected the request: \w+: .*no-such-execution/);
  });

  it('start --wait, status --history and trace follow the cursors of a context larger than a Lambda answer', async () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(
      file,
      [
        'main:',
        '  Grow:',
        '    node_type: tool',
        '    event_triggers: [START, MORE]',
        '    tool_name: blob',
        '    output_field: big',
        '    event_emissions:',
        '      - { signal_name: MORE, condition: "{{ context.big | accumulated | length < 6 }}" }',
        '',
      ].join('\n'),
    );
    const started = await runCli(['start', file, '--wait', '--interval', '0.1', '--timeout', '120', '--json', ...remote], { env });
    expect(started.stderr).toBe('');
    const final = parseJsonOut<StatusJson>(started);
    expect(final.status).toBe('IDLE');
    expect(final.context!.big).toEqual([blobs[5]]);
    const id = final.executionId;
    // Every status answer the stack gave stayed under Lambda's limit (the server refuses larger ones).
    expect(server.invocations.filter((i) => i.functionName === 'soe-status').every((i) => !i.functionError)).toBe(true);

    const histories = await runCli(['status', id, '--history', 'big', '--json', ...remote], { env });
    expect(histories.code).toBe(0);
    const full = parseJsonOut<StatusJson>(histories);
    expect(blobs.join('').length).toBeGreaterThan(8_000_000);
    expect(full.context!.big).toEqual(blobs);
    const pages = server.invocations.filter(
      (i) => i.functionName === 'soe-status' && (i.payload as { contextCursor?: string }).contextCursor,
    );
    expect(pages.length).toBeGreaterThan(0);

    const trace = await runCli(['trace', id, '--json', ...remote], { env });
    expect(trace.code).toBe(0);
    expect((JSON.parse(trace.stdout) as Array<{ event_type: string }>).filter((e) => e.event_type === 'node_execution').length).toBe(6);
  }, 180_000);

  it('an answer over 6 MB is refused as Lambda refuses it', async () => {
    const r = await runCli(['status', 'x', '--status-function', 'soe-oversized', '--endpoint', server.endpoint], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed \(Unhandled\): Function\.ResponseSizeTooLarge: Response payload size \(\d+ bytes\) exceeded/);
  });

  it('status of an unknown execution is NOT_FOUND, exit 1', async () => {
    const r = await runCli(['status', 'no-such-execution', '--json', ...remote], { env });
    expect(r.code).toBe(1);
    expect(parseJsonOut<StatusJson>(r)).toMatchObject({ status: 'NOT_FOUND' });
  });

  it('a function that crashes (X-Amz-Function-Error) is reported with its error and where to look', async () => {
    const r = await runCli(['status', 'x', '--status-function', 'soe-broken', '--endpoint', server.endpoint], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /soe: error: the status function 'soe-broken' failed \(Unhandled\): TypeError: Cannot read properties of undefined/,
    );
    expect(r.stderr).toMatch(/hint: see the function's CloudWatch logs \(log group \/aws\/lambda\/soe-broken\)/);
  });

  it('a function that does not exist', async () => {
    const r = await runCli(['status', 'x', '--status-function', 'soe-nope', '--endpoint', server.endpoint], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/soe: error: the status function 'soe-nope' does not exist at http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stderr).toMatch(/hint: check --status-function/);
  });

  it('an endpoint nobody listens on', async () => {
    const r = await runCli(['status', 'x', '--status-function', 'soe-status', '--endpoint', 'http://127.0.0.1:9'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/soe: error: cannot reach the Lambda endpoint at http:\/\/127\.0\.0\.1:9/);
    expect(r.stderr).toMatch(/hint: is the emulator/);
  });
});
