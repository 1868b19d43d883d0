import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleArgs, parseJsonOut, requireBuiltCli, runCli } from './helpers.js';

beforeAll(requireBuiltCli);

const COMMANDS = ['run', 'validate', 'graph', 'trace', 'send', 'start', 'status', 'wait'] as const;

describe('--help', () => {
  it('soe --help lists every command with examples', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^ {2}${c} `, 'm'));
    expect(r.stdout).toContain('Examples:');
  });

  for (const c of COMMANDS) {
    it(`soe ${c} --help shows usage, options and examples`, async () => {
      const r = await runCli([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: soe ${c} \\[options\\]`));
      expect(r.stdout).toContain('Options:');
      expect(r.stdout).toMatch(/Examples:\n( {2}#.*\n)? {2}\$ soe /);
    });
  }

  it('soe run --help documents the flags of the contract', async () => {
    const r = await runCli(['run', '--help']);
    for (const flag of ['--workflow', '--signals', '--context', '--tools', '--llm', '--runtime', '--json'])
      expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('memory | file:DIR | local-aws');
    expect(r.stdout).toContain('A TypeScript module\n(.ts, .mts) works as it is');
  });

  it('the remote commands say where function names come from', async () => {
    for (const c of ['start', 'status', 'wait', 'send', 'trace']) {
      const r = await runCli([c, '--help']);
      expect(r.stdout).toContain('--outputs <file>');
      expect(r.stdout).toContain('--endpoint <url>');
      expect(r.stdout).toContain('cdk deploy --outputs-file');
    }
  });

  it('--version prints the version', async () => {
    const r = await runCli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });
});

describe('errors say what to do', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'soe-cli-errors-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const expectError = (r: { code: number; stderr: string }, message: RegExp, hint?: RegExp) => {
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`soe: error: .*${message.source}`));
    if (hint) expect(r.stderr).toMatch(new RegExp(`hint: .*${hint.source}`));
  };

  it('a missing workflow file', async () => {
    expectError(await runCli(['run', 'nope.yaml']), /workflow file 'nope.yaml' does not exist/, /check the path/);
  });

  it('bad JSON in --context', async () => {
    expectError(
      await runCli(['run', ...exampleArgs('routing'), '--context', '{ticket: 1}']),
      /--context is not valid JSON: /,
      /quote the object for your shell/,
    );
  });

  it('--context that is not an object', async () => {
    expectError(
      await runCli(['run', ...exampleArgs('routing'), '--context', '[1, 2]']),
      /--context must be a JSON object/,
      /wrap the value in a field/,
    );
  });

  it('--context @file that does not exist', async () => {
    expectError(
      await runCli(['run', ...exampleArgs('routing'), '--context', '@missing.json']),
      /context file 'missing.json' does not exist/,
    );
  });

  it('--context @file is read', async () => {
    const file = join(dir, 'ctx.json');
    writeFileSync(file, JSON.stringify({ ticket: 'The app shows an error when I log in' }));
    const out = parseJsonOut<{ signals: string[] }>(await runCli(['run', ...exampleArgs('routing'), '--context', `@${file}`, '--json']));
    expect(out.signals).toContain('TECHNICAL');
  });

  it('an unknown runtime', async () => {
    expectError(
      await runCli(['run', ...exampleArgs('routing'), '--runtime', 'lambda']),
      /unknown runtime 'lambda': expected memory, file:DIR or local-aws/,
      /file:DIR keeps it on disk/,
    );
  });

  it('file: without a directory', async () => {
    expectError(
      await runCli(['run', ...exampleArgs('routing'), '--runtime', 'file:']),
      /--runtime file: names no directory/,
      /file:\.soe-data/,
    );
  });

  it('an unknown workflow', async () => {
    expectError(
      await runCli(['run', ...exampleArgs('routing'), '--workflow', 'nope']),
      /workflow 'nope' is not defined in examples\/routing\/workflow.yaml/,
      /pick one of: triage/,
    );
  });

  it('an unknown model provider', async () => {
    expectError(
      await runCli(['run', 'examples/routing/workflow.yaml', '--llm', 'gpt4']),
      /--llm 'gpt4' is not a model spec/,
      /scripted:FILE/,
    );
  });

  it('a scripted model file that does not exist', async () => {
    expectError(
      await runCli(['run', 'examples/routing/workflow.yaml', '--llm', 'scripted:nope.yaml']),
      /cannot use the model --llm 'scripted:nope.yaml': .*cannot read the rules file/,
    );
  });

  it('a missing tools module', async () => {
    expectError(
      await runCli(['run', 'examples/routing/workflow.yaml', '--tools', 'nope.mjs']),
      /tools module 'nope.mjs' does not exist/,
      /exporting `tools`/,
    );
  });

  it('a tools module that exports no registry', async () => {
    const file = join(dir, 'empty.mjs');
    writeFileSync(file, 'export const x = 1;\n');
    expectError(
      await runCli(['run', 'examples/routing/workflow.yaml', '--tools', file]),
      /exports no tools registry/,
      /export const tools = /,
    );
  });

  it('a syntax error in a tools module names the user file, line and column, not the CLI', async () => {
    const file = join(dir, 'broken.mjs');
    writeFileSync(file, 'export const tools = {\n  add: ({ a, b }) => a + ,\n};\n');
    const r = await runCli(['run', 'examples/routing/workflow.yaml', '--tools', file]);
    expectError(r, /failed to load: Unexpected token ','/);
    expect(r.stderr).toContain(`(at ${file}:2)`);
    expect(r.stderr).not.toMatch(/load-tools-module/);
  });

  it('a tools module that throws while loading names the line that threw', async () => {
    const file = join(dir, 'throws.mjs');
    writeFileSync(file, 'export const tools = {};\nconfigureClient();\n');
    const r = await runCli(['run', 'examples/routing/workflow.yaml', '--tools', file]);
    expectError(r, /configureClient is not defined/);
    expect(r.stderr).toContain(`(at ${file}:2:1)`);
  });

  it('SOE_DEBUG=1 prints the stack of a throwing tool, down to the user file', async () => {
    const tools = join(dir, 'throwing-tool.mjs');
    writeFileSync(tools, "export const tools = {\n  boom: () => { throw new Error('kaboom'); },\n};\n");
    const wf = join(dir, 'boom.yaml');
    writeFileSync(wf, 'main:\n  A:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: boom\n');
    const debug = await runCli(['run', wf, '--tools', tools, '-q'], { env: { SOE_DEBUG: '1' } });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toContain("SOE_DEBUG: tool 'boom' threw");
    expect(debug.stderr).toContain(`${tools}:2:`);
    const plain = await runCli(['run', wf, '--tools', tools, '-q']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).not.toContain('SOE_DEBUG: tool');
  });

  it('a TypeScript tools module with a syntax error names the file and line', async () => {
    const file = join(dir, 'tools.ts');
    writeFileSync(file, 'export const tools: Record<string, unknown> = {\n  a: (x: number) => x +,\n};\n');
    const r = await runCli(['run', 'examples/routing/workflow.yaml', '--tools', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`soe: error: tools module '${file}' failed to load`);
    expect(r.stderr).toContain(`${file}:2:`);
  });

  it('an invalid workflow file is reported with its locations before anything runs', async () => {
    const r = await runCli(['run', 'packages/cli/tests/fixtures/broken.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken.yaml:5:7: error: workflow 'main', node 'Check', field 'node_type'/);
    expect(r.stderr).toMatch(/soe: error: packages\/cli\/tests\/fixtures\/broken.yaml is not a valid workflow config \(5 problems\)/);
  });

  it('with --json, a run that cannot start still prints one JSON object', async () => {
    const r = await runCli(['run', 'packages/cli/tests/fixtures/broken.yaml', '--json']);
    expect(r.code).toBe(1);
    const out = parseJsonOut<{ executionId: null; status: string; issues: unknown[] }>(r);
    expect(out).toMatchObject({ executionId: null, status: 'failed', context: {}, signals: [], events: [] });
    expect(out.issues).toHaveLength(5);
  });

  it('soe trace and soe send on a runtime that keeps nothing', async () => {
    expectError(
      await runCli(['trace', 'some-id', '--runtime', 'memory']),
      /cannot read an execution of the memory runtime/,
      /--runtime file:DIR/,
    );
    expectError(
      await runCli(['send', 'some-id', '--signals', 'GO', '--runtime', 'local-aws']),
      /cannot reach an execution of the local-aws runtime/,
      /--runtime file:DIR/,
    );
  });

  it('soe trace on a directory that does not exist', async () => {
    expectError(await runCli(['trace', 'some-id', '--runtime', `file:${join(dir, 'nowhere')}`]), /there is no file runtime at file:/);
  });

  it('an unknown command or option is reported by the parser, with a pointer to --help', async () => {
    const r = await runCli(['runn']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown command 'runn'/);
    const o = await runCli(['run', 'x.yaml', '--bogus']);
    expect(o.code).toBe(1);
    expect(o.stderr).toMatch(/unknown option '--bogus'/);
    expect(o.stderr).toContain('(run with --help for usage)');
  });

  it('remote commands without a function name say how to give one', async () => {
    const r = await runCli(['status', 'some-id'], { cwd: dir });
    expectError(r, /no status function given/, /--status-function NAME, or --outputs cdk-outputs.json/);
  });
});
