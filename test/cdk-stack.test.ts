/** The ready stack, its context settings, and the app entry as `cdk synth` runs it. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SoeStack } from '../lib/soe-stack.js';
import { cdkJsonContext, newApp, ROOT, resourceOf, tempDir } from './cdk-helpers.js';

function readyStack(context: Record<string, unknown> = {}) {
  const stack = new SoeStack(newApp({ context }), 'Soe');
  return { stack, template: Template.fromStack(stack) };
}
const workerEnv = (template: Template) => resourceOf(template, 'AWS::Lambda::Function', 'SoeWorker').props.Environment.Variables;
const startEnv = (template: Template) => resourceOf(template, 'AWS::Lambda::Function', 'SoeStart').props.Environment.Variables;

describe('SoeStack', () => {
  it('outputs what a client calls: the functions, the table, the queues', () => {
    const { template } = readyStack();
    const ref = (prefix: string, type = 'AWS::Lambda::Function') => ({ Ref: resourceOf(template, type, prefix).id });
    template.hasOutput('StartFunctionName', { Value: ref('SoeStart') });
    template.hasOutput('SignalFunctionName', { Value: ref('SoeSignal') });
    template.hasOutput('StatusFunctionName', { Value: ref('SoeStatus') });
    template.hasOutput('WorkerFunctionName', { Value: ref('SoeWorker') });
    template.hasOutput('WorkerLogGroupName', { Value: ref('SoeWorkerLogs', 'AWS::Logs::LogGroup') });
    template.hasOutput('TableName', { Value: ref('SoeTable', 'AWS::DynamoDB::Table') });
    template.hasOutput('QueueUrl', { Value: ref('SoeSignalQueue', 'AWS::SQS::Queue') });
    template.hasOutput('DeadLetterQueueUrl', { Value: ref('SoeSignalDeadLetterQueue', 'AWS::SQS::Queue') });
    template.hasOutput('DelayQueueUrl', { Value: ref('SoeDelayQueue', 'AWS::SQS::Queue') });
    template.hasOutput('DelayDeadLetterQueueUrl', { Value: ref('SoeDelayDeadLetterQueue', 'AWS::SQS::Queue') });
    template.hasOutput('DeadLetterFunctionName', { Value: ref('SoeDeadLetter') });
    template.hasOutput('DeadLetterLogGroupName', { Value: ref('SoeDeadLetterLogs', 'AWS::Logs::LogGroup') });
  });

  it('deploys the demo by default: workflows/, the demo tools and the scripted model', () => {
    const { stack, template } = readyStack();
    expect(stack.orchestrator.deployedWorkflows).toContain('hello');
    template.hasOutput('DeployedWorkflows', { Value: Match.stringLikeRegexp('hello') });
    expect(startEnv(template).WORKFLOWS_DIR).toBe('workflows');
    expect(workerEnv(template).SOE_MODEL_PROVIDER).toBe('scripted:scripted-model.yaml');
  });

  it('takes a Bedrock model from context', () => {
    const { template } = readyStack({ 'soe:modelProvider': 'bedrock', 'soe:modelId': 'amazon.nova-lite-v1:0' });
    expect(workerEnv(template)).toMatchObject({ SOE_MODEL_PROVIDER: 'bedrock', SOE_MODEL_ID: 'amazon.nova-lite-v1:0' });
  });

  it('takes an OpenAI secret by name from context', () => {
    const { template } = readyStack({ 'soe:modelProvider': 'openai', 'soe:modelSecretName': 'soe/openai', 'soe:modelId': 'gpt-4o-mini' });
    expect(JSON.stringify(workerEnv(template).SOE_MODEL_SECRET_ARN)).toContain(':secret:soe/openai');
  });

  it('runs without a model or deployed workflows when told so', () => {
    const { template } = readyStack({ 'soe:modelProvider': 'none', 'soe:workflowsDir': 'none' });
    expect(workerEnv(template).SOE_MODEL_PROVIDER).toBeUndefined();
    expect(startEnv(template).WORKFLOWS_DIR).toBeUndefined();
  });

  it('destroys the table with the stack when told so (development)', () => {
    const { template } = readyStack({ 'soe:removalPolicy': 'destroy' });
    expect(template.findResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' })).not.toEqual({});
  });

  it('rejects unknown context values', () => {
    expect(() => readyStack({ 'soe:modelProvider': 'gpt' })).toThrow(
      /soe:modelProvider must be one of scripted, openai, bedrock or none, got 'gpt'/,
    );
    expect(() => readyStack({ 'soe:removalPolicy': 'snapshot' })).toThrow(/soe:removalPolicy must be retain or destroy/);
  });
});

describe('bin/app.ts', () => {
  it('synthesizes the stack with no AWS account, and the cdk-nag report is clean', () => {
    const outdir = tempDir('soe-app-');
    // As cdk.json runs it, with the CLI's context channel; bundling is skipped here (cdk-bundle.test.ts bundles).
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TSX_TSCONFIG_PATH: 'lib/tsconfig.json',
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] }),
        CDK_DEFAULT_ACCOUNT: '',
        CDK_DEFAULT_REGION: '',
      },
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    const template = JSON.parse(readFileSync(join(outdir, 'Soe.template.json'), 'utf8'));
    expect(Object.values(template.Resources).filter((r) => (r as { Type: string }).Type === 'AWS::Lambda::Function')).toHaveLength(5);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.map((p: { pluginName: string; conclusion: string }) => [p.pluginName, p.conclusion])).toEqual([
      ['AwsSolutions', 'success'],
    ]);
    expect(report.pluginReports[0].suppressedViolations.length).toBeGreaterThan(0);
  });
});
