/**
 * `soe init` and what a project of one's own relies on: the scaffold validates and runs (its tools
 * module is TypeScript, loaded as it is), a folder that holds anything is refused, and every failure
 * to load tools or the local runtime exits 1 naming the file or the missing module.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRuntimeError } from '../src/local/cli-runtime.js';
import { parseJsonOut, requireBuiltCli, runCli } from './helpers.js';

let tmp: string;
beforeAll(() => {
  requireBuiltCli();
  tmp = mkdtempSync(join(tmpdir(), 'soe-init-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('soe init', () => {
  it('writes a project, prints the next commands, and its workflow validates and runs with its TypeScript tools', async () => {
    const dir = join(tmp, 'My Agents');
    const r = await runCli(['init', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`created ${dir}`);
    expect(r.stdout).toMatch(/npm install\n\s+npm run run/);
    for (const f of [
      '.gitignore',
      'package.json',
      'cdk.json',
      'bin/app.ts',
      'src/tools.ts',
      'models/scripted-model.yaml',
      'workflows/hello.yaml',
      'test/workflow.test.ts',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('my-agents');
    expect(Object.keys(pkg.scripts)).toEqual(expect.arrayContaining(['run', 'test', 'deploy', 'local:run']));
    expect(pkg.dependencies).toMatchObject({ '@soe/cdk': '^0.1.0', '@soe/aws': '^0.1.0', '@soe/core': '^0.1.0' });
    expect(readFileSync(join(dir, 'bin/app.ts'), 'utf8')).toMatch(/from '@soe\/cdk'[\s\S]*new SoeStack\(app, 'MyAgents'/);

    const valid = await runCli(['validate', join(dir, 'workflows/hello.yaml'), '--tools', join(dir, 'src/tools.ts')]);
    expect(valid.code, valid.stderr).toBe(0);

    // The command of the scaffold's `npm run run`, from the project folder.
    const run = await runCli(
      [
        'run',
        'workflows/hello.yaml',
        '--tools',
        'src/tools.ts',
        '--llm',
        'scripted:models/scripted-model.yaml',
        '--context',
        '{"name": "Ada"}',
        '--json',
      ],
      { cwd: dir },
    );
    const out = parseJsonOut<{ status: string; context: Record<string, unknown> }>(run);
    expect(out.status).toBe('completed');
    expect(JSON.stringify(out.context)).toContain('Hello, Ada! Welcome aboard.');
  });

  it('refuses a folder that holds anything, writing nothing, and a file', async () => {
    const dir = join(tmp, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    const r = await runCli(['init', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`soe: error: cannot create a project in '${dir}': the folder is not empty (it holds notes.txt)`);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    const file = await runCli(['init', join(dir, 'notes.txt')]);
    expect(file.code).toBe(1);
    expect(file.stderr).toContain('it is a file');
  });
});

describe('failures exit 1 and name what failed', () => {
  it('a tools module that throws while loading: the file and line', async () => {
    const file = join(tmp, 'throws.mjs');
    writeFileSync(file, '\nthrow new Error("no API key");\n');
    const r = await runCli(['run', 'examples/routing/workflow.yaml', '--tools', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`tools module '${file}' failed to load: no API key (at ${file}:2:7)`);
  });

  it('an ES module with a syntax error: the file and line', async () => {
    const file = join(tmp, 'broken.mjs');
    writeFileSync(file, 'export const tools = {\n  a: () => 1,\n  b: (\n};\n');
    const r = await runCli(['run', 'examples/routing/workflow.yaml', '--tools', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`tools module '${file}' failed to load: Unexpected token '}' (at ${file}:4)`);
  });

  it('with --json, a tools module that fails still gives one JSON object and exit 1', async () => {
    const r = await runCli(['run', 'examples/routing/workflow.yaml', '--tools', join(tmp, 'throws.mjs'), '--json']);
    expect(r.code).toBe(1);
    expect(parseJsonOut<{ status: string; error: string }>(r)).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('no API key'),
    });
  });

  it('a missing emulator module is named, with the install command', () => {
    const missing = Object.assign(
      new Error("Cannot find package 'dynalite' imported from /x/node_modules/@soe/aws/dist/local/local-emulators.js"),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
    const e = localRuntimeError(missing);
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe("the local AWS runtime cannot start: the module 'dynalite' is not installed");
    expect(e.hint).toContain('npm install @soe/aws');
  });
});
