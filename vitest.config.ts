/**
 * Test projects. `unit`: in process, nothing built, no emulator (`npx vitest run --project unit`).
 * `integration`: the embedded DynamoDB and SQS emulators, CDK synth and bundling, and the built `soe`
 * command run as a child process (these need `npm run build`). `npx vitest run` runs both in one run
 * (one report, as CI reads it).
 */
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Emulator-backed files are named `*.int.test.ts`; the others listed here synthesize the CDK app
 * (and some start the emulators too) or run the built command or example scripts in child processes.
 */
const INTEGRATION = [
  '**/*.int.test.ts',
  'test/cdk*.test.ts',
  'test/examples-scripts.test.ts',
  'packages/cli/tests/checked-signals.test.ts',
  'packages/cli/tests/examples.test.ts',
  'packages/cli/tests/help-and-errors.test.ts',
  'packages/cli/tests/run-safety.test.ts',
  'packages/cli/tests/trace-warnings.test.ts',
  'packages/cli/tests/validate-graph.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/tests/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...INTEGRATION],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          exclude: configDefaults.exclude,
        },
      },
    ],
  },
});
