/**
 * How the functions are bundled, in one place: the construct turns it into NodejsFunction bundling
 * options, and `npm run bundle-sizes` (scripts/bundle-sizes.ts) runs esbuild with the same settings to
 * measure what each function ships.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** The repository root: `functions/`, `packages/` and `package-lock.json` live here. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The function entry files (in `functions/`), by the construct id of their function. */
export const FUNCTION_ENTRIES = {
  Worker: 'worker.ts',
  Start: 'start.ts',
  Signal: 'signal.ts',
  Status: 'status.ts',
  DeadLetter: 'dead-letter.ts',
} as const;
/** A function of the orchestrator, by construct id. */
export type SoeFunctionName = keyof typeof FUNCTION_ENTRIES;

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
 * Aliases: the user's module, and the workspace packages as their TypeScript sources, so a synth never
 * bundles a stale `dist/` and a fresh clone synthesizes without `npm run build`. Their package.json
 * says `"sideEffects": false`: a function keeps only the modules it reaches (signal and status carry
 * no engine).
 */
function aliases(toolsEntry: string): Record<string, string> {
  return {
    'soe-user-tools': toolsEntry,
    '@soe/core': join(REPO_ROOT, 'packages', 'core', 'src', 'index.ts'),
    '@soe/aws': join(REPO_ROOT, 'packages', 'aws', 'src', 'index.ts'),
  };
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
    entryPoints: [join(REPO_ROOT, 'functions', FUNCTION_ENTRIES[fn])],
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
