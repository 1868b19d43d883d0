/** `soe ui` refusals: what it cannot serve and bad flags, each named with what to do instead. */
import { describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli } from './helpers.js';

describe('soe ui refuses what it cannot serve', () => {
  it('local-aws and memory keep nothing after their run: points to soe run --ui', async () => {
    requireBuiltCli();
    const r = await runCli(['ui', '--runtime', 'local-aws']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('soe ui cannot open the local-aws runtime on its own');
    expect(r.stderr).toContain('soe run workflow.yaml --runtime local-aws --ui --port 4400');
  });

  it('names a missing file runtime, a bad port and a bad price', async () => {
    expect((await runCli(['ui', '--runtime', 'file:/nonexistent/soe-ui-dir'])).stderr).toContain(
      'there is no file runtime at file:/nonexistent/soe-ui-dir',
    );
    expect((await runCli(['ui', '--runtime', 'file:.', '--port', '70000'])).stderr).toContain(
      "--port must be a whole number from 0 to 65535, got '70000'",
    );
    expect((await runCli(['ui', '--runtime', 'file:.', '--price-in', 'cheap'])).stderr).toContain(
      "--price-in must be a price in USD of at least 0, got 'cheap'",
    );
  });
});
