/** Fault injection of the local runtime: a seeded PRNG so a failing run can be replayed. */

/** Options of fault injection. */
export interface ChaosOptions {
  /** Share of handled messages that are delivered a second time. @default 0 */
  duplicateRate?: number;
  /** Share of node-run commits after which the worker dies before sending what the run emitted. @default 0 */
  crashAfterCommitRate?: number;
  /** PRNG seed. @default 1 */
  seed?: number;
}

/** Decides, reproducibly for a seed and an order of questions, when to inject a fault. */
export interface Chaos {
  duplicate(): boolean;
  crashAfterCommit(): boolean;
  /** Faults injected so far. */
  readonly stats: { duplicates: number; crashes: number };
}

/** mulberry32: small, fast, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Creates the fault injector. */
export function createChaos(opts: ChaosOptions = {}): Chaos {
  const random = seededRandom(opts.seed ?? 1);
  const stats = { duplicates: 0, crashes: 0 };
  const rate = (r: number | undefined) => Math.min(1, Math.max(0, r ?? 0));
  const dup = rate(opts.duplicateRate);
  const crash = rate(opts.crashAfterCommitRate);
  return {
    duplicate: () => dup > 0 && random() < dup && ++stats.duplicates > 0,
    crashAfterCommit: () => crash > 0 && random() < crash && ++stats.crashes > 0,
    stats,
  };
}
