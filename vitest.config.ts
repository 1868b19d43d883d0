/**
 * Test projects. `unit`: in process, nothing built, no emulator (`npx vitest run --project unit`).
 * `integration`: the embedded DynamoDB and SQS emulators, CDK synth and bundling, and the built `soe`
 * command run as a child process (these need `npm run build`). `npx vitest run` runs both in one run
 * (one report, as CI reads it).
 */
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Integration tests are the files named `*.int.test.ts` (the emulators, or the built `soe` command and
 * the example scripts run as child processes) and the CDK tests (synthesis and bundling; some start
 * the emulators too). Name a new test of that sort `*.int.test.ts` and it lands in the right project.
 */
const INTEGRATION = ['**/*.int.test.ts', 'test/cdk*.test.ts'];

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
