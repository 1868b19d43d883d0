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
    }));
    const known = new Set<string>([...Object.values(ENV), 'NODE_OPTIONS']);
    const used = Object.values(template.findResources('AWS::Lambda::Function')).flatMap((f) =>
      Object.keys(f.Properties.Environment?.Variables ?? {}),
    );
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((name) => !known.has(name))).toEqual([]);
  });
});
