import { describe, expect, it } from 'vitest';
import { RUN_STATE, lnGamma, noteStep, runSurprise, teachRun } from '../../src/pipeline/runs.js';
import { normal } from './detector-helpers.js';

/** A channel's run state after the runs `runs` (lengths in readings), each begun in a busy state. */
function taught(runs: readonly number[], horizon = 10_000): Float64Array {
  const m = new Float64Array(RUN_STATE);
  for (const run of runs) {
    noteStep(m, 0, false, 1, 16);
    teachRun(m, 0, run, horizon);
    if (run > 1) noteStep(m, 0, true, run - 1, 16);
  }
  // The next run begins busy.
  noteStep(m, 0, false, 1, 16);
  return m;
}

describe('runs: the beta-geometric model of runs in a busy state', () => {
  it('lnGamma matches the factorials', () => {
    let f = 0;
    for (let n = 1; n < 60; n++) {
      expect(lnGamma(n)).toBeCloseTo(f, 9);
      f += Math.log(n);
    }
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });

  it('a state that hardly ever repeats: each further repeat adds about as much surprise (geometric), fewer runs know less', () => {
    // One repeat in 300 readings (the demo's motor when on): runs of 1, and a run of 2 now and then.
    const u = normal(3);
    const runs = Array.from({ length: 3000 }, () => (Math.abs(u()) > 2.93 ? 2 : 1));
    const m = taught(runs);
    const s = [2, 3, 5, 10, 30].map((r) => runSurprise(m, 0, r));
    expect(s[0]).toBeGreaterThan(2);
    // Nearly linear in the repeats: the tenth repeat is nearly as rare as the first.
    expect(s[3] - s[2]).toBeGreaterThan(0.8 * 5 * (s[1] - s[0]));
    // 150 readings of it know less: the same runs are less rare, but a long one still is.
    const short = taught(runs.slice(0, 150));
    expect(runSurprise(short, 0, 10)).toBeLessThan(s[3]);
    expect(runSurprise(short, 0, 10)).toBeGreaterThan(5);
  });

  it('runs that vary widely (a quantised slow signal, a report-on-change sensor): a heavy tail, long runs stay ordinary', () => {
    // Each run repeats with its own probability p (uniform in [0, 0.97)): geometric within a run, lengths from 1 to
    // about a hundred over the runs.
    let seed = 4;
    const uniform = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
    const runs = Array.from({ length: 2000 }, () => 1 + Math.floor(Math.log(uniform()) / Math.log(0.97 * uniform())));
    const m = taught(runs);
    const longest = Math.max(...runs);
    // A run twice the longest taught is unusual, not a freeze of a noisy state.
    expect(runSurprise(m, 0, 2 * longest)).toBeLessThan(5);
    // A geometric with the same mean would call it far rarer.
    const mean = runs.reduce((a, b) => a + b - 1, 0) / runs.length;
    const q = mean / (1 + mean);
    expect(-(2 * longest - 1) * Math.log10(q)).toBeGreaterThan(runSurprise(m, 0, 2 * longest) + 3);
  });

  it('a run that began while the stream was calm is not judged', () => {
    const m = taught(Array.from({ length: 500 }, () => 1));
    expect(runSurprise(m, 0, 5)).toBeGreaterThan(5);
    // 40 repeats (a hold), then a change: the run that change begins is calm.
    noteStep(m, 0, true, 40, 16);
    noteStep(m, 0, false, 1, 16);
    expect(runSurprise(m, 0, 5)).toBe(0);
    // Nor taught.
    const before = Array.from(m);
    teachRun(m, 0, 5, 10_000);
    expect(Array.from(m)).toEqual(before);
  });

  it('a run that follows a flicker of one step is calm (the noise is below the step), one that follows larger moves busy', () => {
    // Changes at every reading: of one step (still: a quantised signal flickering where its level crosses a step)…
    const flicker = taught(Array.from({ length: 500 }, () => 1));
    for (let i = 0; i < 40; i++) noteStep(flicker, 0, false, 1, 16, true);
    expect(runSurprise(flicker, 0, 5)).toBe(0);
    // … or of more than a step (a noisy state): busy, each repeat another unlikely event.
    const noisy = taught(Array.from({ length: 500 }, () => 1));
    for (let i = 0; i < 40; i++) noteStep(noisy, 0, false, 1, 16, false);
    expect(runSurprise(noisy, 0, 5)).toBeGreaterThan(5);
  });
});
