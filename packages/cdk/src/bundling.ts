/**
 * How the functions are bundled, in one place: the construct turns it into NodejsFunction bundling
 * options, and `npm run bundle-sizes` (scripts/bundle-sizes.ts) runs esbuild with the same settings to
 * measure what each function ships.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
/**
 * This module's own extension: `.ts` when the CDK app runs the package's sources (tsx, inside the SOE
 * repository), `.js` when it runs the published `dist/`. The function entries sit beside it in the
 * same form.
 */
const OWN_EXTENSION = extname(fileURLToPath(import.meta.url)) === '.ts' ? '.ts' : '.js';

/** The folder of the `@soe/cdk` package (its package.json). */
export const PACKAGE_ROOT = resolve(HERE, '..');

/** The function entry files (in the package's `functions/`), by the construct id of their function. */
export const FUNCTION_ENTRIES = {
  Worker: 'worker',
  Start: 'start',
  Signal: 'signal',
  Status: 'status',
  DeadLetter: 'dead-letter',
} as const;
/** A function of the orchestrator, by construct id. */
export type SoeFunctionName = keyof typeof FUNCTION_ENTRIES;

/** The entry file a function is bundled from: shipped in this package, bundled at synth with the user's module. */
export function functionEntry(fn: SoeFunctionName): string {
  return join(HERE, 'functions', `${FUNCTION_ENTRIES[fn]}${OWN_EXTENSION}`);
}

/** What the functions import as `soe-user-tools` when the deployment names no module: no tools, no model, no workflows. */
export const DEFAULT_TOOLS_ENTRY = join(HERE, 'functions', `default-user-tools${OWN_EXTENSION}`);

const LOCK_FILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock'];

/**
 * The lock file NodejsFunction takes the project root from (it runs esbuild there): the nearest one
 * above this package — the user's project when `@soe/cdk` is installed in its node_modules, the
 * repository root inside SOE's own workspace — else the nearest above the working directory.
 */
export function findLockFile(from: string[] = [PACKAGE_ROOT, process.cwd()]): string {
  for (const start of from) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      for (const name of LOCK_FILES) if (existsSync(join(dir, name))) return join(dir, name);
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(
    `SoeOrchestrator: no lock file (${LOCK_FILES.join(', ')}) above ${from.join(' or ')}; NodejsFunction bundles from the ` +
      'project root it marks: run npm install in your CDK project first',
  );
}

/** What the bundles of one deployment depend on. */
export interface SoeBundling {
  /** The user's module, aliased as `soe-user-tools`. */
  readonly toolsEntry: string;
  /** Emit source maps (and run with `--enable-source-maps`). */
  readonly sourceMaps: boolean;
  /** Put the AWS SDK into the bundle instead of loading the one the Lambda runtime ships. */
  readonly bundleAwsSdk: boolean;
}

/** The Node.js version the bundles target (the functions' runtime is nodejs22.x). */
const TARGET = 'node22';
/**
 * ES module builds first: the AWS SDK and Powertools publish ESM next to CJS, and only ESM lets esbuild
 * drop what a function never calls (about 150 KB of the SDK). Output stays CommonJS (nunjucks needs it).
 */
const MAIN_FIELDS = ['module', 'main'];
/**
 * What the Lambda runtime provides when the SDK is not bundled: NodejsFunction marks these external
 * (`bundleAwsSDK: false` with the `sdkV3ExcludeSmithyPackages` flag of cdk.json).
 */
export const RUNTIME_PROVIDED = ['@aws-sdk/*', '@smithy/*'];

/**
 * Inside SOE's own workspace the packages' TypeScript sources sit beside their package.json: a synth
 * bundles those, so it never bundles a stale `dist/` and a fresh clone synthesizes without
 * `npm run build`. Installed from npm there are none, and esbuild resolves the packages' `dist/`.
 */
function workspaceSources(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  for (const name of ['@soe/core', '@soe/aws']) {
    try {
      const src = join(dirname(require.resolve(`${name}/package.json`)), 'src', 'index.ts');
      if (existsSync(src)) out[name] = src;
    } catch {
      // Not resolvable from here: esbuild resolves it from the entry as usual.
    }
  }
  return out;
}

/**
 * Aliases: the user's module, and (in the SOE workspace) the packages' sources. Their package.json
 * says `"sideEffects": false`: a function keeps only the modules it reaches (signal and status carry
 * no engine).
 */
function aliases(toolsEntry: string): Record<string, string> {
  return { 'soe-user-tools': toolsEntry, ...workspaceSources() };
}

/**
 * NodejsFunction bundling: esbuild locally (a root devDependency, so no Docker), CommonJS because
 * nunjucks is CommonJS and requires Node built-ins. `copyFiles` land in the bundle after esbuild ran.
 */
export function nodejsBundling(b: SoeBundling, copyFiles: ReadonlyArray<{ from: string; to: string }> = []): BundlingOptions {
  return {
    format: OutputFormat.CJS,
    target: TARGET,
    mainFields: MAIN_FIELDS,
    minify: true,
    sourceMap: b.sourceMaps,
    ...(b.sourceMaps ? { sourcesContent: false } : {}),
    bundleAwsSDK: b.bundleAwsSdk,
    logLevel: LogLevel.WARNING,
    esbuildArgs: { '--alias': Object.entries(aliases(b.toolsEntry)).map(([k, v]) => `${k}=${v}`) },
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) =>
        copyFiles.map(({ from, to }) => {
          const target = join(outputDir, to);
          return `mkdir -p ${sh(dirname(target))} && cp ${sh(from)} ${sh(target)}`;
        }),
    },
  };
}

/** The esbuild build options NodejsFunction derives from {@link nodejsBundling}, for the JS API (`write: false`). */
export function esbuildOptions(fn: SoeFunctionName, b: SoeBundling): BuildOptions {
  return {
    entryPoints: [functionEntry(fn)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: TARGET,
    mainFields: MAIN_FIELDS,
    minify: true,
    sourcemap: b.sourceMaps,
    ...(b.sourceMaps ? { sourcesContent: false } : {}),
    external: b.bundleAwsSdk ? [] : RUNTIME_PROVIDED,
    alias: aliases(b.toolsEntry),
    outfile: 'index.js',
    write: false,
    metafile: true,
    logLevel: 'warning',
  };
}

/** POSIX shell quoting for the copy commands of {@link nodejsBundling}. */
function sh(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
