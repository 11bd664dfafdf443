import { describe, expect, it } from 'vitest';
import {
  detectsAt,
  NAB_PROFILES,
  nabProbation,
  nabWindowLength,
  scaledSigmoid,
  scoreCorpus,
  scoreCorpusAllProfiles,
  scoreCorpusDetections,
  scoreDetections,
  sweep,
  tidyWindows,
  windowsAroundPoints,
  windowsAroundRuns,
  type ScoredSeries,
} from '../../src/eval/nab.js';
import { mulberry32 } from '../../src/train/rng.js';

const STD = NAB_PROFILES.standard;

/** 20 rows, one window [10, 14] (width 5), no probation; `hot` rows get the given scores, the rest 0. */
function series(hot: Record<number, number>, probation = 0): ScoredSeries {
  const scores = new Float64Array(20);
  for (const [i, v] of Object.entries(hot)) scores[Number(i)] = v;
  return { name: 's', scores, windows: [{ start: 10, end: 14 }], probation };
}

const at = (rows: number[]) => (i: number) => rows.includes(i);

describe('scaledSigmoid (nab/sweeper.py)', () => {
  it('has NAB’s documented values', () => {
    // Values printed by NAB's docstring: 0.98661, 0.84828, 0, -0.98661; and -1 beyond 3.
    expect(scaledSigmoid(-1)).toBeCloseTo(0.9866142981514305, 12);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.8482836399575131, 12);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.9866142981514303, 12);
    expect(scaledSigmoid(3)).toBeCloseTo(-0.9999993881955461, 12);
    expect(scaledSigmoid(3.0001)).toBe(-1);
  });
});

describe('probation and windows (nab/util.py, nab/labeler.py)', () => {
  it('probation is 15 % of the rows, at most 750', () => {
    expect(nabProbation(1000)).toBe(150);
    expect(nabProbation(4001)).toBe(600);
    expect(nabProbation(5000)).toBe(750);
    expect(nabProbation(22000)).toBe(750);
    expect(nabProbation(10)).toBe(1);
  });

  it('a window is 10 % of the rows shared between the events, centred on each point', () => {
    expect(nabWindowLength(1000, 1)).toBe(100);
    expect(nabWindowLength(1000, 3)).toBe(33);
    expect(nabWindowLength(1000, 0)).toBe(100);
    expect(windowsAroundPoints([500], 1000, 150)).toEqual([{ start: 450, end: 550 }]);
    expect(windowsAroundPoints([300, 700], 1000, 150)).toEqual([
      { start: 275, end: 325 },
      { start: 675, end: 725 },
    ]);
    // Clipped at the end of the series.
    expect(windowsAroundPoints([990], 1000, 150)).toEqual([{ start: 940, end: 999 }]);
  });

  it('merges overlapping windows and drops those starting in the probation', () => {
    // L = 50 for two events: [475, 525] and [485, 535] overlap.
    expect(windowsAroundPoints([500, 510], 1000, 150)).toEqual([{ start: 475, end: 535 }]);
    // [110, 210] starts inside the 150-row probation.
    expect(windowsAroundPoints([160, 600], 1000, 150)).toEqual([{ start: 575, end: 625 }]);
    expect(tidyWindows([{ start: 30, end: 40 }, { start: 10, end: 20 }, { start: 20, end: 25 }, { start: 41, end: 50 }], 0)).toEqual([
      { start: 10, end: 25 },
      { start: 30, end: 40 },
      { start: 41, end: 50 },
    ]);
  });

  it('a labelled run gets NAB’s window centred on its start, widened to the run’s end', () => {
    const labels = new Uint8Array(1000);
    labels.fill(1, 500, 520); // short run: [450, 550]
    expect(windowsAroundRuns(labels, 0)).toEqual([{ start: 450, end: 550 }]);
    labels.fill(1, 500, 700); // long run: [450, 699]
    expect(windowsAroundRuns(labels, 0)).toEqual([{ start: 450, end: 699 }]);
    labels.fill(1, 900, 910); // second run: L = 50 per event
    expect(windowsAroundRuns(labels, 0)).toEqual([
      { start: 475, end: 699 },
      { start: 875, end: 925 },
    ]);
    expect(windowsAroundRuns(new Uint8Array(10), 0)).toEqual([]);
  });
});

describe('one series (hand-computed)', () => {
  it('the earliest detection of a window earns σ(−(end − i + 1)/width)/σ(−1); later ones in it are ignored', () => {
    // Row 10 is the window's first row: the full A_TP = 1, so raw 1 = perfect, normalised 100.
    const first = scoreDetections(series({}), at([10]), STD);
    expect(first.raw).toBeCloseTo(1, 12);
    expect(first.perfect).toBe(1);
    expect(first.null).toBe(-1);
    expect(first.normalised).toBeCloseTo(100, 10);
    // Row 12: σ(−3/5)/σ(−1) = 0.917429.
    expect(scoreDetections(series({}), at([12]), STD).raw).toBeCloseTo(0.9174286804284079, 12);
    // Rows 12, 13, 14: only row 12 counts.
    const repeats = scoreDetections(series({}), at([12, 13, 14]), STD);
    expect(repeats.raw).toBeCloseTo(0.9174286804284079, 12);
    expect(repeats.tpRows).toBe(3);
    expect(repeats.detectedWindows).toBe(1);
    // The last row of the window still earns something: σ(−1/5)/σ(−1) = 0.468387.
    expect(scoreDetections(series({}), at([14]), STD).raw).toBeCloseTo(0.46838684390227814, 12);
  });

  it('a missed window costs A_FN; false positives cost A_FP x σ of their distance past the preceding window', () => {
    expect(scoreDetections(series({}), at([]), STD).raw).toBe(-1);
    expect(scoreDetections(series({}), at([]), NAB_PROFILES.reward_low_FN_rate).raw).toBe(-2);
    // Row 17: (17 − 14)/(5 − 1) = 0.75, σ(0.75) x 0.11 = −0.104945; plus the missed window.
    expect(scoreDetections(series({}), at([17]), STD).raw).toBeCloseTo(-1 - 0.10494497861979436, 12);
    expect(scoreDetections(series({}), at([17]), NAB_PROFILES.reward_low_FP_rate).raw).toBeCloseTo(-1 - 2 * 0.10494497861979436, 12);
    // Row 15, right after the window: σ(1/4) x 0.11, a small charge.
    expect(scoreDetections(series({}), at([15]), STD).raw).toBeCloseTo(-1 + scaledSigmoid(0.25) * 0.11, 12);
    // Row 2, before any window: the full A_FP.
    const early = scoreDetections(series({}), at([2]), STD);
    expect(early.raw).toBeCloseTo(-1.11, 12);
    expect(early.fpRows).toBe(1);
  });

  it('ignores detections inside the probationary period', () => {
    expect(scoreDetections(series({}, 5), at([2]), STD).raw).toBe(-1);
    expect(scoreDetections(series({}, 5), at([2]), STD).fpRows).toBe(0);
    expect(scoreDetections(series({}, 5), at([7]), STD).raw).toBeCloseTo(-1.11, 12);
  });

  it('rejects bad input with a clear error', () => {
    expect(() => scoreDetections({ ...series({}), scores: [0, Number.NaN, 0] , windows: [] }, at([]), STD)).toThrow(/row 1 is NaN/);
    expect(() => scoreDetections({ ...series({}), windows: [{ start: 5, end: 12 }, { start: 10, end: 14 }] }, at([]), STD)).toThrow(/sorted and disjoint/);
    expect(() => scoreDetections({ ...series({}), windows: [{ start: 15, end: 25 }] }, at([]), STD)).toThrow(/not inside rows/);
    expect(() => scoreDetections(series({}, 12), at([]), STD)).toThrow(/inside the probationary period/);
  });
});

describe('the threshold sweep (nab/sweeper.py calcScoreByThreshold)', () => {
  it('visits every distinct score from the top and picks the best single threshold', () => {
    // Row 17 (FP) at 0.95, row 11 (in the window) at 0.9, row 3 (FP before any window) at 0.8.
    const s = series({ 17: 0.95, 11: 0.9, 3: 0.8 });
    const curve = sweep([s], STD);
    expect(curve.map((t) => t.threshold)).toEqual([Number.POSITIVE_INFINITY, 0.95, 0.9, 0.8, 0]);
    expect(curve[0].raw).toBe(-1);
    expect(curve[1].raw).toBeCloseTo(-1 - 0.10494497861979436, 12);
    expect(curve[2].raw).toBeCloseTo(0.8721618623028101, 12);
    expect(curve[3].raw).toBeCloseTo(0.7621618623028101, 12);
    expect(curve[4].tpRows + curve[4].fpRows).toBe(20);
    const best = scoreCorpus([s], STD, 'standard');
    expect(best.threshold).toBe(0.9);
    expect(best.raw).toBeCloseTo(0.8721618623028101, 12);
    expect(best.normalised).toBeCloseTo(93.6080931151405, 10);
    expect(best.tpRows).toBe(1);
    expect(best.fpRows).toBe(1);
  });

  it('rows with tied scores become detections together', () => {
    const curve = sweep([series({ 11: 0.9, 3: 0.9 })], STD);
    expect(curve.map((t) => t.threshold)).toEqual([Number.POSITIVE_INFINITY, 0.9, 0]);
    expect(curve[1].raw).toBeCloseTo(0.9771068409226045 - 0.11, 12);
    expect(curve[1].tpRows).toBe(1);
    expect(curve[1].fpRows).toBe(1);
  });

  it('takes unbounded surprises and +Infinity; +Infinity ranks above every finite score', () => {
    const s = series({ 11: Number.POSITIVE_INFINITY, 3: 1e6, 17: 30 });
    const best = scoreCorpus([s], STD);
    expect(detectsAt(Number.POSITIVE_INFINITY, best.threshold)).toBe(true);
    expect(best.raw).toBeCloseTo(0.9771068409226045, 12);
    expect(detectsAt(5, Number.POSITIVE_INFINITY)).toBe(false);
  });

  it('a detector that never alarms scores 0 and a perfect one 100, on every profile', () => {
    const corpus: ScoredSeries[] = [
      { name: 'a', scores: new Float64Array(1000), windows: windowsAroundPoints([400, 800], 1000, 150), probation: 150 },
      { name: 'b', scores: new Float64Array(3000), windows: windowsAroundPoints([2000], 3000, 450), probation: 450 },
      { name: 'c', scores: new Float64Array(500), windows: [], probation: 75 },
    ];
    for (const r of Object.values(scoreCorpusAllProfiles(corpus))) {
      expect(r.windows).toBe(3);
      expect(r.threshold).toBe(Number.POSITIVE_INFINITY);
      expect(r.normalised).toBe(0);
    }
    const perfect = corpus.map((s) => {
      const scores = new Float64Array(s.scores.length);
      for (const w of s.windows) scores[w.start] = 1;
      return { ...s, scores };
    });
    for (const r of Object.values(scoreCorpusAllProfiles(perfect))) {
      expect(r.threshold).toBe(1);
      expect(r.normalised).toBeCloseTo(100, 10);
      expect(r.detectedWindows).toBe(3);
      expect(r.series[2].normalised).toBeNaN(); // no windows in c: nothing to normalise by
    }
  });

  it('ONE threshold for the corpus: per-series scores at it sum to the corpus score, and equal the detections scored directly', () => {
    const rng = mulberry32(7);
    const corpus: ScoredSeries[] = [];
    for (let k = 0; k < 5; k++) {
      const rows = 300 + Math.floor(rng() * 700);
      const points = [Math.floor(rows * (0.3 + 0.2 * rng())), Math.floor(rows * (0.7 + 0.2 * rng()))];
      const windows = windowsAroundPoints(points, rows, nabProbation(rows));
      // Quantised scores (ties), a little higher inside windows.
      const scores = Float64Array.from({ length: rows }, (_, i) => Math.round((rng() + (windows.some((w) => i >= w.start && i <= w.end) ? 0.3 : 0)) * 20) / 20);
      corpus.push({ name: `s${k}`, scores, windows, probation: nabProbation(rows) });
    }
    for (const [name, profile] of Object.entries(NAB_PROFILES)) {
      const curve = sweep(corpus, profile);
      // Every point of the sweep equals scoring the detections at its threshold file by file.
      for (const t of curve) {
        const direct = corpus.reduce((a, s) => a + scoreDetections(s, (i) => detectsAt(s.scores[i], t.threshold), profile).raw, 0);
        expect(direct, `${name} at ${t.threshold}`).toBeCloseTo(t.raw, 9);
      }
      const best = scoreCorpus(corpus, profile);
      expect(best.raw).toBe(Math.max(...curve.map((t) => t.raw)));
      expect(best.series.reduce((a, s) => a + s.raw, 0)).toBeCloseTo(best.raw, 9);
      const alarms = corpus.map((s) => Array.from(s.scores, (v) => detectsAt(v, best.threshold)));
      expect(scoreCorpusDetections(corpus, alarms, profile).raw).toBeCloseTo(best.raw, 9);
    }
  });
});
