import { beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CASES } from './example-cases.js';
import { exampleArgs, parseJsonOut, type RunJson, requireBuiltCli, runCli } from './helpers.js';

beforeAll(requireBuiltCli);

// The same runs as examples.int.test.ts, through the Lambda handlers on the embedded DynamoDB and SQS
// emulators: each `soe run --runtime local-aws` starts its own emulators on free ports.
describe('soe run: every example on the local AWS runtime', () => {
  for (const c of EXAMPLE_CASES) {
    it.concurrent(c.name, async () => {
      const args = [
        ...exampleArgs(c.example),
        '--runtime',
        'local-aws',
        '--json',
        '--quiet',
        ...(c.context ? ['--context', JSON.stringify(c.context)] : []),
      ];
      const r = await runCli(['run', ...args]);
      const out = parseJsonOut<RunJson>(r);
      expect(r.code).toBe(out.status === 'completed' ? 0 : 1);
      c.check(out);
    });
  }

  it('prints the live trace from the workers, children included', async () => {
    const r = await runCli(['run', ...exampleArgs('fan-out'), '--runtime', 'local-aws']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('runtime local-aws');
    expect(r.stderr).toMatch(/⇉ Summarize started 3 children/);
    expect(r.stderr.match(/\[[0-9a-f]{8}\] ✓ Summarize \(llm\)/g)).toHaveLength(3);
    expect(r.stderr).toMatch(/✓ Digest \(tool\) \d+ ms → DONE/);
    expect(r.stdout).toMatch(/^summary\s+9 nodes run · 13 signals · 3 llm calls · 2 tool calls · 0 errors · 4 executions/m);
  });
});
