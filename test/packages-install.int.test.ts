/**
 * What a new user does, offline: `npm pack` every workspace, install the tarballs into an empty
 * project with aws-cdk-lib, constructs and aws-cdk, then run a workflow on the local AWS runtime
 * with a TypeScript tools module, `soe init` a scaffold, validate and test it, and `cdk synth` a
 * four-line app importing `SoeOrchestrator` from `@soe/cdk`.
 *
 * Offline: the machine's npm cache holds the tarballs of the repository's lock file but not every
 * package document, so the project gets a lock file made from the repository's (the closure of what
 * the tarballs and the CDK packages depend on) and `npm ci --offline` installs from the cache by
 * integrity. Every process gets a proxy on a closed loopback port, no AWS credentials and no
 * instance metadata: nothing can reach a non-loopback address, and anything that tries fails.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKSPACES = ['core', 'aws', 'cli', 'cdk'] as const;
/** The CDK packages a user installs beside SOE's, at the versions the repository uses. */
const CDK_PACKAGES = ['aws-cdk-lib', 'constructs', 'aws-cdk'] as const;

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [key: string]: unknown;
}
type LockPackages = Record<string, LockEntry>;

/** A sandbox for every child process: no registry but the cache, no proxyless network, no AWS identity. */
function sandboxEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|npm_|HTTPS?_PROXY|NO_PROXY|CDK_)/i.test(k)) env[k] = v;
  const deadProxy = 'http://127.0.0.1:9';
  return {
    ...env,
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    HTTP_PROXY: deadProxy,
    HTTPS_PROXY: deadProxy,
    http_proxy: deadProxy,
    https_proxy: deadProxy,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-credentials'),
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: 'true',
    NO_COLOR: '1',
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 300_000): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Fails with the command's output when it did not exit 0. */
function ok(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  return r;
}

/** Where Node would find `name` from the package at `from` in the repository's lock: nested first, then upwards. */
function locate(lock: LockPackages, from: string, name: string): string | undefined {
  for (let loc = from; ; ) {
    const key = loc ? `${loc}/node_modules/${name}` : `node_modules/${name}`;
    if (lock[key] && !lock[key]!.link) return key;
    if (!loc) return undefined;
    // Up one level: out of a nested node_modules, else to the root (a hoisted package or a workspace).
    const i = loc.lastIndexOf('/node_modules/');
    loc = i >= 0 ? loc.slice(0, i) : '';
  }
}

/**
 * The lock file of a project whose root depends on `rootDeps` (the SOE tarballs and the CDK
 * packages): every package they reach, copied from the repository's lock (workspace-nested ones
 * moved under the installed workspace), the tarballs as `file:` entries with their integrity.
 */
function projectLock(
  repoLock: LockPackages,
  tarballs: Record<string, { file: string; manifest: LockEntry }>,
  rootDeps: Record<string, string>,
) {
  const out: LockPackages = { '': { name: 'soe-user', dependencies: rootDeps } };
  const workspaceDir = (name: string) => `packages/${name.replace('@soe/', '')}`;
  const visit = (name: string, repoFrom: string) => {
    if (tarballs[name]) {
      const key = `node_modules/${name}`;
      if (out[key]) return;
      const t = tarballs[name]!;
      out[key] = { ...t.manifest, resolved: `file:${t.file}` };
      for (const dep of Object.keys({ ...t.manifest.dependencies })) visit(dep, workspaceDir(name));
      return;
    }
    const repoKey = locate(repoLock, repoFrom, name);
    if (!repoKey) {
      if (repoLock[`node_modules/${name}`]?.optional) return;
      throw new Error(`the repository's lock has no ${name} reachable from ${repoFrom || 'the root'}`);
    }
    const key = repoKey.replace(/^packages\/(\w+)\/node_modules\//, 'node_modules/@soe/$1/node_modules/');
    if (out[key]) return;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = repoLock[repoKey]!;
    out[key] = entry;
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      if (entry.optionalDependencies?.[dep] && !locate(repoLock, repoKey, dep)) continue;
      visit(dep, repoKey);
    }
  };
  for (const name of Object.keys(rootDeps)) visit(name, '');
  return { name: 'soe-user', lockfileVersion: 3, requires: true, packages: out };
}

let work: string;
let project: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'soe-user-'));
  project = join(work, 'project');
  const packs = join(work, 'tarballs');
  mkdirSync(project);
  mkdirSync(packs);
  env = sandboxEnv(work);

  // 1. npm pack every workspace (built by `npm run build`, as `npm test` does first).
  const workspaceArgs = WORKSPACES.flatMap((w) => ['-w', `packages/${w}`]);
  const packed = ok(await run('npm', ['pack', '--json', '--pack-destination', packs, ...workspaceArgs], ROOT, env), 'npm pack');
  const tarballs: Record<string, { file: string; manifest: LockEntry }> = {};
  for (const p of JSON.parse(packed.stdout) as Array<{ name: string; filename: string; version: string }>) {
    const file = join(packs, p.filename.replace(/^@soe\//, 'soe-').replace('/', '-'));
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', p.name.replace('@soe/', ''), 'package.json'), 'utf8')) as LockEntry & {
      bin?: Record<string, string>;
      engines?: Record<string, string>;
      license?: string;
    };
    const integrity = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
    tarballs[p.name] = {
      file: relative(project, file),
      manifest: {
        version: p.version,
        integrity,
        ...(manifest.dependencies ? { dependencies: manifest.dependencies } : {}),
        ...(manifest.peerDependencies ? { peerDependencies: manifest.peerDependencies } : {}),
        ...(manifest.bin ? { bin: manifest.bin } : {}),
        ...(manifest.engines ? { engines: manifest.engines } : {}),
        license: manifest.license,
      },
    };
  }
  expect(Object.keys(tarballs).sort()).toEqual(['@soe/aws', '@soe/cdk', '@soe/cli', '@soe/core']);

  // 2. An empty project depending on the tarballs and the CDK packages; installed from the cache only.
  const repoLock = (JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: LockPackages }).packages;
  const rootDeps: Record<string, string> = {};
  for (const [name, t] of Object.entries(tarballs)) rootDeps[name] = `file:${t.file}`;
  for (const name of CDK_PACKAGES) rootDeps[name] = repoLock[`node_modules/${name}`]!.version!;
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'soe-user', private: true, type: 'module', dependencies: rootDeps, allowScripts: { esbuild: true, 'classic-level': true } }, null, 2)}\n`,
  );
  writeFileSync(join(project, 'package-lock.json'), `${JSON.stringify(projectLock(repoLock, tarballs, rootDeps), null, 2)}\n`);
  ok(await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], project, env, 480_000), 'npm ci --offline');
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packages, installed into an empty project', () => {
  it('npx soe run hello.yaml --runtime local-aws runs a workflow with a TypeScript tools module', async () => {
    writeFileSync(
      join(project, 'hello.yaml'),
      'workflows:\n  main:\n    Shout:\n      node_type: tool\n      event_triggers: [START]\n      tool_name: shout\n      parameters:\n        text: "{{ context.message }}"\n      output_field: shouted\n      event_emissions:\n        - signal_name: DONE\n',
    );
    writeFileSync(
      join(project, 'tools.ts'),
      'export const tools = { shout: ({ text }: { text: string }): string => text.toUpperCase() + "!" };\n',
    );
    const r = ok(
      await run(
        'npx',
        ['--no', 'soe', 'run', 'hello.yaml', '--tools', 'tools.ts', '--context', '{"message": "hi"}', '--runtime', 'local-aws', '--json'],
        project,
        env,
      ),
      'soe run --runtime local-aws',
    );
    const out = JSON.parse(r.stdout) as { status: string; context: Record<string, unknown> };
    expect(out.status).toBe('completed');
    expect(JSON.stringify(out.context.shouted)).toContain('HI!');
  }, 300_000);

  it('npx soe init scaffold writes a project whose workflows soe validate accepts and whose test passes', async () => {
    const init = ok(await run('npx', ['--no', 'soe', 'init', 'scaffold'], project, env), 'soe init');
    expect(init.stdout).toContain('npm run deploy');
    const workflows = readdirSync(join(project, 'scaffold', 'workflows')).map((f) => join('scaffold', 'workflows', f));
    expect(workflows.length).toBeGreaterThan(0);
    const valid = ok(
      await run('npx', ['--no', 'soe', 'validate', ...workflows, '--tools', 'scaffold/src/tools.ts'], project, env),
      'soe validate',
    );
    expect(valid.stdout).toMatch(/hello\.yaml: ok/);
    // The scaffold's own `npm test` (node --test under tsx): in process and on the local AWS runtime.
    const test = await run(process.execPath, ['--import', 'tsx', '--test', 'scaffold/test/workflow.test.ts'], project, env);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/# pass 2/);
    // Its CDK app synthesizes (as `cdk synth` runs it; bundling skipped here, the next test bundles):
    // the workflows, the tools module and the scripted model are checked at synth.
    const outdir = join(work, 'scaffold.out');
    const app = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], join(project, 'scaffold'), {
      ...env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
    });
    expect(app.code, app.stderr).toBe(0);
    const stack = JSON.parse(readFileSync(join(outdir, 'Scaffold.template.json'), 'utf8')) as {
      Outputs: Record<string, { Value: unknown }>;
    };
    expect(stack.Outputs.DeployedWorkflows?.Value).toBe('hello');
  }, 300_000);

  it('cdk synth of a four-line app importing SoeOrchestrator from @soe/cdk has the worker, start, signal and status functions', async () => {
    writeFileSync(
      join(project, 'app.mjs'),
      [
        "import { App, Stack } from 'aws-cdk-lib';",
        "import { SoeOrchestrator } from '@soe/cdk';",
        'const app = new App();',
        "new SoeOrchestrator(new Stack(app, 'UserStack'), 'Soe');",
        '',
      ].join('\n'),
    );
    writeFileSync(join(project, 'cdk.json'), JSON.stringify({ app: 'node app.mjs', notices: false, context: { 'cli-telemetry': false } }));
    ok(await run('npx', ['--no', 'cdk', 'synth', '--quiet'], project, env, 480_000), 'cdk synth');
    const template = JSON.parse(readFileSync(join(project, 'cdk.out', 'UserStack.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Handler?: string; Code?: { S3Key?: string } } }>;
    };
    const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    for (const name of ['Worker', 'Start', 'Signal', 'Status']) {
      const fn = functions.find(([id]) => id.startsWith(`Soe${name}`));
      expect(fn, `the ${name} function`).toBeDefined();
      // Bundled at synth from the installed package: the asset holds the handler's bundle.
      const asset = join(project, 'cdk.out', `asset.${String(fn![1].Properties.Code!.S3Key).replace(/\.zip$/, '')}`);
      expect(existsSync(join(asset, 'index.js')), `${name} bundle`).toBe(true);
    }
  }, 600_000);
});
