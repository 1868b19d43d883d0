/**
 * cdk-nag AwsSolutions, run as `cdk synth` runs it (a validation plugin of the app): no unacknowledged
 * finding on the ready stack or on the construct with every option that adds permissions, and every
 * acknowledged finding is listed in the validation report with its reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SoeOrchestrator, type SoeOrchestratorProps } from '@soe/cdk';
import { type App, Stack, Validations } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SoeStack } from '../lib/soe-stack.js';
import { newApp } from './cdk-helpers.js';

interface Finding {
  ruleName: string;
  violatingConstructs: Array<{ constructPath: string }>;
  acknowledgedId?: string;
  reason?: string;
}

/** Synthesizes with the AwsSolutions plugin and reads the report (synth throws when a finding is not acknowledged). */
function nag(app: App): { conclusion: string; violations: string[]; suppressed: Finding[] } {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch {
    // the report says why
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8'));
  const plugin = report.pluginReports.find((p: { pluginName: string }) => p.pluginName === 'AwsSolutions');
  return {
    conclusion: plugin.conclusion,
    violations: (plugin.violations as Finding[]).flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)),
    suppressed: plugin.suppressedViolations,
  };
}

const suppressedAt = (suppressed: Finding[]) =>
  suppressed.flatMap((s) => s.violatingConstructs.map((c) => `${s.ruleName} at ${c.constructPath}`)).sort();

function orchestrator(configure: (stack: Stack) => SoeOrchestratorProps): App {
  const app = newApp();
  const stack = new Stack(app, 'Test');
  new SoeOrchestrator(stack, 'Soe', configure(stack));
  return app;
}

describe('cdk-nag AwsSolutions', () => {
  it('the ready stack: no finding but the runtime rule, acknowledged on the five functions with a reason', () => {
    const app = newApp();
    new SoeStack(app, 'Soe');
    const { conclusion, violations, suppressed } = nag(app);
    expect(violations).toEqual([]);
    expect(conclusion).toBe('success');
    expect(suppressedAt(suppressed)).toEqual(
      ['DeadLetter', 'Signal', 'Start', 'Status', 'Worker'].map((fn) => `AwsSolutions-L1 at Soe/Soe/${fn}/Resource`),
    );
    for (const s of suppressed) expect(s.reason).toMatch(/^Node\.js 22 on purpose: .{60,}/);
  });

  it('a customer key and Bedrock through an inference profile: the KMS action families and the region wildcard, acknowledged where they arise', () => {
    const { violations, suppressed } = nag(
      orchestrator((stack) => ({
        encryptionKey: new Key(stack, 'Key', { enableKeyRotation: true }),
        modelProvider: 'bedrock',
        modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      })),
    );
    expect(violations).toEqual([]);
    const beyondRuntime = suppressed.filter((s) => s.ruleName !== 'AwsSolutions-L1');
    expect(suppressedAt(beyondRuntime)).toEqual(
      [
        ...['DeadLetter', 'Signal', 'Start', 'Worker'].flatMap((fn) => [
          `AwsSolutions-IAM5[Action::kms:GenerateDataKey*] at Test/Soe/${fn}Role/DefaultPolicy/Resource`,
          `AwsSolutions-IAM5[Action::kms:ReEncrypt*] at Test/Soe/${fn}Role/DefaultPolicy/Resource`,
        ]),
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0] at Test/Soe/WorkerRole/DefaultPolicy/Resource',
      ].sort(),
    );
    for (const s of beyondRuntime) expect(s.reason?.length, s.ruleName).toBeGreaterThan(80);
  });

  it('a Bedrock foundation model and an OpenAI secret add no finding', () => {
    for (const app of [
      orchestrator(() => ({ modelProvider: 'bedrock', modelId: 'amazon.nova-lite-v1:0' })),
      orchestrator((stack) => ({ modelProvider: 'openai', modelSecret: Secret.fromSecretNameV2(stack, 'Key', 'soe/openai') })),
    ]) {
      const { violations, suppressed } = nag(app);
      expect(violations).toEqual([]);
      expect(new Set(suppressed.map((s) => s.ruleName))).toEqual(new Set(['AwsSolutions-L1']));
    }
  });

  it('still reports what the construct did not acknowledge (the check is live)', () => {
    const app = orchestrator(() => ({}));
    new Queue(app.node.findChild('Test') as Stack, 'Unguarded');
    const { conclusion, violations } = nag(app);
    expect(conclusion).toBe('failure');
    expect(violations).toContain('AwsSolutions-SQS4 at Test/Unguarded/Resource');
  });
});
