/** Fault injection of the local runtime (local/chaos.ts): rates and reproducibility. */
import { describe, expect, it } from 'vitest';
import { createChaos } from '../src/index.js';

describe('createChaos', () => {
  it('injects faults at the configured rates, reproducibly for a seed', () => {
    const picks = (seed: number) => {
      const chaos = createChaos({ duplicateRate: 0.3, crashAfterCommitRate: 0.1, seed });
      return Array.from({ length: 2000 }, (_, i) => (i % 2 ? chaos.duplicate() : chaos.crashAfterCommit()));
    };
    const a = picks(7);
    expect(picks(7)).toEqual(a);
    const dup = a.filter((x, i) => i % 2 && x).length / 1000;
    const crash = a.filter((x, i) => !(i % 2) && x).length / 1000;
    expect(dup).toBeGreaterThan(0.25);
    expect(dup).toBeLessThan(0.35);
    expect(crash).toBeGreaterThan(0.06);
    expect(crash).toBeLessThan(0.14);
  });
});
