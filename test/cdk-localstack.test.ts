/**
 * The LocalStack path, checked statically (no Docker here): the compose file, the npm scripts and
 * the deployment guide name things that exist and pin what they run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './cdk-helpers.js';

const COMPOSE = 'deploy/localstack/docker-compose.yml';
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

interface Compose {
  services: Record<string, { image: string; ports: string[]; environment: Record<string, string>; volumes: string[] }>;
}

describe('deploy/localstack/docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, COMPOSE), 'utf8')) as Compose;
  const localstack = compose.services.localstack!;

  it('is YAML with one LocalStack service on an exact image version', () => {
    expect(Object.keys(compose.services)).toEqual(['localstack']);
    expect(localstack.image).toMatch(/^localstack\/localstack:\$\{LOCALSTACK_IMAGE_TAG:-\d+\.\d+\.\d+\}$/);
  });

  it('publishes the edge port on loopback only', () => {
    expect(localstack.ports).toContain('127.0.0.1:4566:4566');
    for (const p of localstack.ports) expect(p).toMatch(/^127\.0\.0\.1:/);
  });

  it('can run Lambda functions: the Docker socket, and arm64 functions on any host', () => {
    expect(localstack.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    expect(localstack.environment.LAMBDA_IGNORE_ARCHITECTURE).toBe('1');
  });

  it('takes an auth token from the environment, never from the file', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation, not a JS template
    expect(localstack.environment.LOCALSTACK_AUTH_TOKEN).toBe('${LOCALSTACK_AUTH_TOKEN:-}');
  });
});

describe('the npm scripts', () => {
  it('local:up and local:down use the compose file', () => {
    expect(scripts['local:up']).toBe(`docker compose -f ${COMPOSE} up -d`);
    expect(scripts['local:down']).toBe(`docker compose -f ${COMPOSE} down`);
  });

  it('local:deploy bootstraps and deploys through the cdklocal wrapper, without prompts', () => {
    expect(scripts['local:deploy']).toMatch(
      /^node deploy\/localstack\/cdklocal\.mjs bootstrap && node deploy\/localstack\/cdklocal\.mjs deploy --require-approval never/,
    );
  });

  it('name only files that exist', () => {
    for (const [name, command] of Object.entries(scripts)) {
      for (const path of command.match(/\b(?:deploy|bin|lib|bench|packages|functions|workflows)\/[\w./-]+\.\w+/g) ?? []) {
        expect(existsSync(join(ROOT, path)), `${name}: ${path}`).toBe(true);
      }
    }
  });

  it('synth runs the CDK CLI', () => {
    expect(scripts.synth).toMatch(/^cdk synth/);
  });
});

describe('deploy/localstack/cdklocal.mjs', () => {
  const wrapper = readFileSync(join(ROOT, 'deploy/localstack/cdklocal.mjs'), 'utf8');

  it('pins aws-cdk-local to an exact version', () => {
    expect(wrapper).toMatch(/export const AWS_CDK_LOCAL = 'aws-cdk-local@\d+\.\d+\.\d+';/);
  });

  it('is valid JavaScript', () => {
    const res = spawnSync(process.execPath, ['--check', join(ROOT, 'deploy/localstack/cdklocal.mjs')], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
  });
});

describe('README deployment sections', () => {
  // From "Deploying" on: the sections before it also show the scripts of a project `soe init` writes
  // (checked against that scaffold by packages/cli/tests/doc-commands.int.test.ts).
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const doc = readme.slice(readme.indexOf('\n## Deploying'));

  it('names only npm scripts that exist', () => {
    const named = [...doc.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(0);
    for (const s of named) expect(scripts[s], s).toBeDefined();
  });

  it('names only repository files that exist', () => {
    const paths = [...doc.matchAll(/`((?:deploy|bin|lib|functions|workflows|test|packages)\/[\w./-]+)`/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(5);
    for (const p of paths) if (!p.includes('*')) expect(existsSync(join(ROOT, p)), p).toBe(true);
  });

  it('names the stack outputs the stack has', () => {
    const stack = readFileSync(join(ROOT, 'packages/cdk/src/soe-stack.ts'), 'utf8');
    const outputs = [...stack.matchAll(/out\(\s*'(\w+)'/g)].map((m) => m[1]!);
    for (const o of outputs) expect(doc, o).toContain(`\`${o}\``);
    for (const [, o] of doc.matchAll(/\.Soe\.(\w+)/g)) expect(outputs, o).toContain(o);
  });
});
