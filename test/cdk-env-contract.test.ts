/** The construct writes the functions' environment in the names of the runtime's contract (`@soe/aws/env`), and nothing else. */
import { ENV } from '@soe/aws/env';
import { Duration } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { synth } from './cdk-helpers.js';

describe('the functions’ environment', () => {
  it('uses only the names of ENV (and NODE_OPTIONS for source maps)', () => {
    const { template } = synth({}, (stack) => ({
      modelProvider: 'openai',
      modelId: 'gpt-4o-mini',
      modelSecret: Secret.fromSecretNameV2(stack, 'Key', 'soe/openai'),
      openAiBaseUrl: 'https://llm.example/v1',
      executionRetention: Duration.days(30),
      sourceMaps: true,
      stepCapture: { maxChars: 500, redactFields: ['password', 'apiKey'] },
    }));
    const known = new Set<string>([...Object.values(ENV), 'NODE_OPTIONS']);
    const used = Object.values(template.findResources('AWS::Lambda::Function')).flatMap((f) =>
      Object.keys(f.Properties.Environment?.Variables ?? {}),
    );
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((name) => !known.has(name))).toEqual([]);
  });

  it('stepCapture reaches the worker as the variables readRuntimeEnv reads back', async () => {
    const { readRuntimeEnv } = await import('@soe/aws');
    const { template } = synth({ stepCapture: { maxChars: 0, redactFields: ['password', 'token'] } });
    const worker = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
      String(f.Properties.Description ?? '').startsWith('SOE worker'),
    );
    const vars = worker?.Properties.Environment.Variables as Record<string, string>;
    expect(vars[ENV.captureMaxChars]).toBe('0');
    expect(vars[ENV.redactFields]).toBe('password,token');
    const env = readRuntimeEnv({ ...vars, [ENV.tableName]: 't', [ENV.queueUrl]: 'q' });
    expect(env.capture).toEqual({ maxChars: 0, redact: ['password', 'token'] });
  });

  it('a bad stepCapture fails the synth saying what it accepts', () => {
    expect(() => synth({ stepCapture: { maxChars: -1 } })).toThrow(
      /stepCapture.maxChars must be a whole number from 0 to 1,000,000, got -1/,
    );
    expect(() => synth({ stepCapture: { redactFields: ['a,b'] } })).toThrow(
      /stepCapture.redactFields must be non-empty names without commas/,
    );
  });
});
