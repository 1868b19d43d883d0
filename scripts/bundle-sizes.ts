/**
 * `npm run bundle-sizes [-- --bundle-aws-sdk] [-- --source-maps] [-- --json]`: bundles every function
 * entry with the construct's esbuild settings (packages/cdk/src/bundling.ts) and prints what each one ships, with
 * the largest packages inside. No files are written.
 */
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import {
  DEFAULT_TOOLS_ENTRY,
  esbuildOptions,
  FUNCTION_ENTRIES,
  type SoeBundling,
  type SoeFunctionName,
} from '../packages/cdk/src/bundling.js';

/** Size targets of issue 11, in bytes of `index.js`: what a cold start loads. */
export const SIZE_TARGETS: Record<SoeFunctionName, number> = {
  Worker: 1_000_000,
  Start: 1_000_000,
  Signal: 300_000,
  Status: 300_000,
  DeadLetter: 300_000,
};

/** One function's bundle. */
export interface BundleSize {
  fn: SoeFunctionName;
  /** Bytes of index.js. */
  bytes: number;
  /** Bytes of index.js.map (0 without source maps). */
  mapBytes: number;
  /** Bytes in the output per package (`@soe/core`, `ajv`, `@aws-sdk/client-dynamodb`…), largest first. */
  packages: Array<[string, number]>;
  /** Modules the bundle leaves to the runtime (`require`d at run time). */
  external: string[];
}

/** The default bundling of the construct: the default tools module, no source maps, the runtime's SDK. */
export const DEFAULT_BUNDLING: SoeBundling = {
  toolsEntry: DEFAULT_TOOLS_ENTRY,
  sourceMaps: false,
  bundleAwsSdk: false,
};

/** Bundles one function in memory and measures it. */
export async function measureBundle(fn: SoeFunctionName, bundling: SoeBundling = DEFAULT_BUNDLING): Promise<BundleSize> {
  const result = await build(esbuildOptions(fn, bundling));
  const js = result.outputFiles!.find((f) => f.path.endsWith('.js'))!;
  const map = result.outputFiles!.find((f) => f.path.endsWith('.js.map'));
  const meta = result.metafile as Metafile;
  const output = Object.entries(meta.outputs).find(([p]) => p.endsWith('.js'))![1];
  const packages = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const name = packageOf(path);
    packages.set(name, (packages.get(name) ?? 0) + input.bytesInOutput);
  }
  const external = [...new Set(output.imports.filter((i) => i.external).map((i) => i.path))].sort();
  return {
    fn,
    bytes: js.contents.byteLength,
    mapBytes: map?.contents.byteLength ?? 0,
    packages: [...packages].sort((a, b) => b[1] - a[1]),
    external,
  };
}

/** `node_modules/@aws-sdk/client-sqs/dist-es/…` → `@aws-sdk/client-sqs`; workspace sources → `@soe/core`… */
function packageOf(path: string): string {
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (inModules) return inModules[1]!;
  const workspace = /packages\/([^/]+)\/src\//.exec(path);
  if (workspace) return `@soe/${workspace[1]}`;
  return path.replace(/^.*\/(functions|deploy)\//, '$1/');
}

/** Measures every function. */
export async function measureAll(bundling: SoeBundling = DEFAULT_BUNDLING): Promise<BundleSize[]> {
  const out: BundleSize[] = [];
  // One after another: esbuild uses every core for each build anyway.
  for (const fn of Object.keys(FUNCTION_ENTRIES) as SoeFunctionName[]) out.push(await measureBundle(fn, bundling));
  return out;
}

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;

async function main(argv: string[]): Promise<void> {
  const bundling: SoeBundling = {
    ...DEFAULT_BUNDLING,
    bundleAwsSdk: argv.includes('--bundle-aws-sdk'),
    sourceMaps: argv.includes('--source-maps'),
  };
  const sizes = await measureAll(bundling);
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ bundling, sizes }, null, 2));
    return;
  }
  console.log(
    `AWS SDK: ${bundling.bundleAwsSdk ? 'bundled' : 'from the Lambda runtime'}; source maps: ${bundling.sourceMaps ? 'on' : 'off'}\n`,
  );
  console.log('| function | index.js | target | source map | largest parts |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const s of sizes) {
    const top = s.packages
      .slice(0, 4)
      .map(([p, b]) => `${p} ${kb(b)}`)
      .join(', ');
    const within = s.bytes < SIZE_TARGETS[s.fn] ? '' : ' **over**';
    console.log(`| ${s.fn} | ${kb(s.bytes)} | < ${kb(SIZE_TARGETS[s.fn])}${within} | ${s.mapBytes ? kb(s.mapBytes) : '—'} | ${top} |`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
