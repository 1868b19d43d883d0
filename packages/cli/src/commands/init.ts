/**
 * `soe init DIR`: writes a project of the user's own — a workflow, a TypeScript tools module, a
 * scripted model, a CDK app using `@soe/cdk`, a test that runs the workflow in process and on the
 * local AWS runtime, and a package.json with the scripts to run, test and deploy it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { styleFor } from '../output/style.js';
import { writeOut } from '../output/write-out.js';

/** The template folder (shipped in the package beside dist/). */
const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/init/', import.meta.url));
/** This package's version: the scaffold asks for the SOE packages released with it. */
const SOE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Versions the scaffold installs: the SOE packages of this CLI, and the CDK toolchain they are tested with. */
const CDK_VERSIONS = { 'aws-cdk-lib': '2.276.0', constructs: '10.8.1', 'aws-cdk': '2.1148.1' } as const;

/** Flags of `soe init`. */
export interface InitOptions {
  name?: string;
  color?: boolean;
}

const EXAMPLES = `
Examples:
  $ soe init my-agents
  $ soe init . --name support-bot      # in the current directory, if it is empty

DIR must not exist or be empty: soe init never overwrites a file.`;

/** Registers `soe init`. */
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .summary('start a project of your own: a workflow, tools, a model, a CDK app and tests')
    .description(
      'Write a new SOE project into DIR: workflows/hello.yaml, a TypeScript tools module, a scripted model, a CDK app using @soe/cdk, a test that runs the workflow in process and on the local AWS runtime, and package.json scripts (run, test, deploy, local:*).',
    )
    .argument('<dir>', 'where to write the project (must not exist, or be empty)')
    .option('--name <name>', 'the package name (default: the folder name)')
    .addHelpText('after', EXAMPLES)
    .action(async (dir: string, opts: InitOptions, cmd: Command) => {
      const o = { ...cmd.optsWithGlobals(), ...opts } as InitOptions;
      const written = await initProject(dir, o);
      await writeOut(nextSteps(dir, written, o.color !== false));
    });
}

/** The package name a folder gets: lower case, npm's allowed characters. */
export function packageNameFor(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|-+$/g, '');
  return name || 'soe-project';
}

/** The scaffold's package.json: scripts and dependencies. */
export function scaffoldPackageJson(name: string): Record<string, unknown> {
  const soe = `^${SOE_VERSION}`;
  const run = `soe run workflows/hello.yaml --tools src/tools.ts --llm scripted:models/scripted-model.yaml --context '{"name": "Ada"}'`;
  return {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      run,
      validate: 'soe validate workflows/*.yaml --tools src/tools.ts',
      test: 'node --import tsx --test test/*.test.ts',
      synth: 'cdk synth',
      deploy: 'cdk deploy --outputs-file cdk-outputs.json',
      'local:run': `${run} --runtime local-aws`,
      'local:keep': `${run} --runtime file:.soe-data`,
    },
    engines: { node: '>=20.19' },
    dependencies: { '@soe/aws': soe, '@soe/cdk': soe, '@soe/core': soe, ...CDK_VERSIONS },
    devDependencies: { '@soe/cli': soe, '@types/node': '^20.19.0', tsx: '^4.23.15', typescript: '~5.9.3' },
  };
}

/**
 * Writes the project into `dir` and returns the files written (relative to it). Refuses, writing
 * nothing, when `dir` is a file or a folder that holds anything.
 */
export async function initProject(dir: string, opts: InitOptions = {}): Promise<string[]> {
  const target = resolve(dir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) {
      throw new UsageError(`cannot create a project in '${dir}': it is a file`, { hint: 'give a new folder name: soe init my-project' });
    }
    const present = readdirSync(target);
    if (present.length > 0) {
      const shown = present.slice(0, 3).join(', ') + (present.length > 3 ? ', …' : '');
      throw new UsageError(`cannot create a project in '${dir}': the folder is not empty (it holds ${shown})`, {
        hint: 'soe init never overwrites files: give a new folder name, or empty this one',
      });
    }
  }
  const name = opts.name ?? packageNameFor(dir);
  await mkdir(target, { recursive: true });
  await cp(TEMPLATE_DIR, target, { recursive: true });
  // npm leaves .gitignore out of a published package: the template ships it without the dot.
  await rename(join(target, 'gitignore'), join(target, '.gitignore'));
  for (const file of ['README.md', 'bin/app.ts']) {
    const path = join(target, file);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replaceAll('__NAME__', name).replaceAll('__STACK_NAME__', stackNameFor(name)));
  }
  await writeFile(join(target, 'package.json'), `${JSON.stringify(scaffoldPackageJson(name), null, 2)}\n`);
  return listFiles(target).map((f) => relative(target, f));
}

/** A CloudFormation stack name from a package name: letters, digits and hyphens, starting with a letter. */
function stackNameFor(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return /^[A-Za-z]/.test(joined) ? joined : `Soe${joined}`;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** What to type next. */
function nextSteps(dir: string, written: string[], color: boolean): string {
  const s = styleFor(process.stdout, color);
  const lines = [
    `${s.green('created')} ${dir}: ${written.join(', ')}`,
    '',
    'Next:',
    `  cd ${dir}`,
    '  npm install',
    '  npm run run          # the workflow, in process',
    '  npm run local:run    # on the Lambda handlers over local DynamoDB + SQS',
    '  npm test             # both, as tests',
    '  npm run deploy       # to your AWS account (cdk deploy)',
    '',
  ];
  return lines.join('\n');
}
