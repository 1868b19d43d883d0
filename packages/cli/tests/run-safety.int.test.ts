import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, parseJsonOut, ROOT, requireBuiltCli, runCli } from './helpers.js';

let tmp: string;
let tools: string;
const workflow = (tool: string) =>
  `main:\n  W:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: ${tool}\n    output_field: x\n    event_emissions: [{ signal_name: DONE }]\n`;

beforeAll(() => {
  requireBuiltCli();
  tmp = mkdtempSync(join(tmpdir(), 'soe-cli-safety-'));
  tools = join(tmp, 'tools.mjs');
  writeFileSync(
    tools,
    `export const toolsRegistry = {
  chatty: () => { console.log('tool says hi'); return 2; },
  slow: async () => { console.log('started'); await new Promise((r) => setTimeout(r, 60_000)); return 1; },
};\n`,
  );
  writeFileSync(join(tmp, 'chatty.yaml'), workflow('chatty'));
  // A model call that never settles and holds nothing open: Node would exit 0 with no result.
  writeFileSync(join(tmp, 'hung-model.mjs'), 'export const toolsRegistry = {};\nexport const callLlm = () => new Promise(() => {});\n');
  writeFileSync(
    join(tmp, 'hung-model.yaml'),
    'main:\n  Ask:\n    node_type: llm\n    event_triggers: [START]\n    prompt: hi\n    output_field: answer\n',
  );
  writeFileSync(join(tmp, 'slow.yaml'), workflow('slow'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('soe run safety', () => {
  it('never exits 0 without a result: a call that never settles ends with exit 1, the id and what ran', async () => {
    const r = await runCli(['run', join(tmp, 'hung-model.yaml'), '--tools', join(tmp, 'hung-model.mjs'), '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the run stopped making progress: execution [0-9a-f-]{36} did not finish/);
    expect(r.stderr).toContain('timeout_seconds');
  });

  it('under --json, a run that stalls still prints one JSON object naming the execution', async () => {
    const r = await runCli(['run', join(tmp, 'hung-model.yaml'), '--tools', join(tmp, 'hung-model.mjs'), '--json']);
    expect(r.code).toBe(1);
    const out = parseJsonOut<{ status: string; executionId: string; error: string }>(r);
    expect(out.status).toBe('stalled');
    expect(out.executionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.error).toContain('stopped making progress');
  });

  it('under --json, a command line commander refuses still prints one JSON object', async () => {
    const r = await runCli(['run', join(tmp, 'chatty.yaml'), '--no-such-flag', '--json']);
    expect(r.code).toBe(1);
    const out = parseJsonOut<{ status: string; executionId: null; error: string }>(r);
    expect(out).toMatchObject({ status: 'failed', executionId: null });
    expect(out.error).toContain("unknown option '--no-such-flag'");
  });

  it('under --json, what a tool prints goes to stderr and stdout stays one JSON object', async () => {
    const r = await runCli(['run', join(tmp, 'chatty.yaml'), '--tools', tools, '--json']);
    expect(r.code).toBe(0);
    expect(parseJsonOut<{ status: string }>(r).status).toBe('completed');
    expect(r.stderr).toContain('tool says hi');
  });

  it.each([false, true])(
    'on Ctrl-C prints the execution id and a partial summary, and exits 130 (--json: %s)',
    async (json) => {
      const args = [BIN, 'run', join(tmp, 'slow.yaml'), '--tools', tools, ...(json ? ['--json'] : [])];
      const child = spawn(process.execPath, args, { cwd: ROOT });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d) => {
        stderr += String(d);
      });
      child.stdout.on('data', (d) => {
        stdout += String(d);
      });
      // Interrupt once the tool runs (it prints "started" on the trace's stream or stdout).
      await new Promise<void>((done) => {
        const poll = setInterval(() => {
          if ((stdout + stderr).includes('started')) {
            clearInterval(poll);
            done();
          }
        }, 50);
      });
      child.kill('SIGINT');
      const code = await new Promise<number | null>((done) => child.on('close', done));
      expect(code).toBe(130);
      expect(stderr).toMatch(
        /interrupted: execution [0-9a-f-]{36} did not finish; so far: 0 node runs, 0 model calls, 0 tool calls, 0 errors, last signals START/,
      );
      if (json) {
        const out = JSON.parse(stdout) as { status: string; executionId: string };
        expect(out.status).toBe('interrupted');
        expect(out.executionId).toMatch(/^[0-9a-f-]{36}$/);
      }
    },
    20_000,
  );
});
