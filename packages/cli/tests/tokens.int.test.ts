import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'soe-tokens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('soe run', () => {
  it('shows the execution total of input and output tokens when the model reports usage', () => {
    writeFileSync(
      join(dir, 'wf.yaml'),
      'main:\n  Ask:\n    node_type: llm\n    event_triggers: [START]\n    prompt: "Say hi"\n    output_field: reply\n    event_emissions:\n      - signal_name: DONE\n',
    );
    writeFileSync(
      join(dir, 'tools.mjs'),
      'export const tools = {};\nexport const callLlm = () => ({ text: \'{"reply": "hi"}\', usage: { input_tokens: 12, output_tokens: 3 } });\n',
    );
    const r = spawnSync(
      process.execPath,
      ['packages/cli/dist/bin.js', 'run', join(dir, 'wf.yaml'), '--tools', join(dir, 'tools.mjs'), '--no-color'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/tokens\s+12 in · 3 out · 1 model call/);
  });
});
