/**
 * The tail histories' bins are held as a window (the bins from the lowest to the highest that held mass, grown on
 * demand) rather than all 200: the answers must be the same, bit for bit, as with every bin held, and a checkpoint
 * written by the version that held every bin must restore to the same answers.
 *
 * The reference: the same sequence run by main 7df6867's tail.ts (every bin held), in
 * test/pipeline/fixtures/tail-window.json. It was written with
 *   TAIL_FIXTURE_FROM=/work/main npx vitest run test/pipeline/tail-window.test.ts
 * (the compiled dist/pipeline/tail.js of that checkout runs the sequence below and writes the file).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TailCalibrator, type TailOptions } from '../../src/pipeline/tail.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'tail-window.json');

/** The calibrator's public surface the sequence uses (main's and this one's). */
interface TailLike {
  add(e: number, weight?: number): void;
  surprise(e: number, predictive?: { surprise: number }): number;
  quantile(q: number): number;
  commitPending(): void;
  discardPending(): void;
  settle(floor: number): void;
  toJSON(): unknown;
}
interface TailClass {
  new (opts: TailOptions, prior?: { mean: number; std: number; weight: number } | null): TailLike;
  fromJSON(json: unknown, opts: TailOptions): TailLike;
}

const CONFIGS: { opts: TailOptions; prior: { mean: number; std: number; weight: number } | null }[] = [
  // A short horizon: the weights rescale (every ~2,200 errors), with a prior and a guard band.
  { opts: { horizon: 10, minCount: 8, lag: 5 }, prior: { mean: -2, std: 0.3, weight: 32 } },
  { opts: { horizon: 200, minCount: 16, thin: 3 }, prior: null },
  { opts: { horizon: 50, minCount: 8, lag: 16 }, prior: { mean: 1, std: 2, weight: 32 } },
];
const STEPS = 3000;
/** The step at which the calibrator is replaced by one restored from its checkpoint. */
const RESTORE_AT = 1500;

/** Deterministic errors whose decade drifts over the whole range of the bins, with zeros and non-finite ones. */
function errorAt(i: number, rnd: () => number): number {
  if (i % 97 === 0) return 0;
  if (i % 131 === 0) return Number.NaN;
  if (i % 173 === 0) return -1;
  if (i % 211 === 0) return Infinity;
  const m = i < 600 ? -1 : i < 1200 ? -1 + (5 * (i - 600)) / 600 : i < 1800 ? 4 - (13 * (i - 1200)) / 600 : i < 2000 ? 9.5 : 0;
  const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return Math.pow(10, m + 0.4 * z);
}

const str = (x: number): string => (Object.is(x, -0) ? '-0' : String(x));

/**
 * Runs the sequence on each config: per step an error added and the fitted and predictive surprise of two probes;
 * every 100 steps two quantiles and the checkpoint. At RESTORE_AT the calibrator goes on from a restored checkpoint:
 * its own, or `restoreFrom(config)` when given (another version's).
 */
function runSequence(Tail: TailClass, restoreFrom?: (config: number) => unknown): { hash: string; sample: string[]; checkpoints: unknown[] } {
  const h = createHash('sha256');
  const sample: string[] = [];
  const checkpoints: unknown[] = [];
  CONFIGS.forEach(({ opts, prior }, ci) => {
    let seed = 1 + ci;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 4294967296;
    };
    let t = new Tail(opts, prior);
    const pred = { surprise: 0 };
    for (let i = 1; i <= STEPS; i++) {
      const e = errorAt(i, rnd);
      t.add(e, i % 7 === 0 ? 0.5 : 1);
      if (i === 700) t.commitPending();
      if (i === 900) t.discardPending();
      if (i === 300) t.settle(4);
      const line: string[] = [];
      for (const probe of [e, 30 * e, 1e-12, 1e11]) {
        const s = t.surprise(probe, pred);
        line.push(str(s), str(pred.surprise));
      }
      if (i % 100 === 0) {
        line.push(str(t.quantile(0.5)), str(t.quantile(0.99)));
        const cp = JSON.stringify(t.toJSON());
        line.push(cp);
        checkpoints.push(JSON.parse(cp));
      }
      if (i === RESTORE_AT) t = Tail.fromJSON(restoreFrom ? restoreFrom(ci) : JSON.parse(JSON.stringify(t.toJSON())), opts);
      const text = line.join(',');
      h.update(`${ci}:${i}:${text}\n`);
      if (i % 25 === 0) sample.push(`${ci}:${i}:${line.slice(0, 8).join(',')}`);
    }
  });
  return { hash: h.digest('hex'), sample, checkpoints };
}

interface Fixture {
  readonly from: string;
  readonly hash: string;
  readonly sample: string[];
  /** Each config's checkpoint at RESTORE_AT, as that version wrote it. */
  readonly restore: unknown[];
}

describe.runIf(process.env.TAIL_FIXTURE_FROM !== undefined)('the reference (writes the fixture)', () => {
  it('runs the sequence on the given checkout and writes it', async () => {
    const root = process.env.TAIL_FIXTURE_FROM as string;
    const mod = (await import(pathToFileURL(join(root, 'dist/pipeline/tail.js')).href)) as { TailCalibrator: TailClass };
    const run = runSequence(mod.TailCalibrator);
    const per = STEPS / 100;
    const restore = CONFIGS.map((_, ci) => run.checkpoints[ci * per + RESTORE_AT / 100 - 1]);
    const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const fixture: Fixture = { from: commit, hash: run.hash, sample: run.sample, restore };
    writeFileSync(FIXTURE, `${JSON.stringify(fixture)}\n`);
  });
});

describe('tail bins held as a window', () => {
  const load = (): Fixture => JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;

  it('answers and checkpoints as the calibrator that held every bin, bit for bit', () => {
    const fixture = load();
    const run = runSequence(TailCalibrator);
    // The sample first (it says where they part), then every answer and checkpoint.
    expect(run.sample).toEqual(fixture.sample);
    expect(run.hash).toBe(fixture.hash);
  });

  it('restores a checkpoint written by the calibrator that held every bin to the same answers', () => {
    const fixture = load();
    const run = runSequence(TailCalibrator, (ci) => fixture.restore[ci]);
    expect(run.sample).toEqual(fixture.sample);
    expect(run.hash).toBe(fixture.hash);
  });

  it('holds only the bins its errors reached, and none before the first', () => {
    const t = new TailCalibrator({ horizon: 100, minCount: 8 });
    expect(t.windowBins).toBe(0);
    // Errors within one decade (10 bins of 0.1): the window is those bins and the slack either side, not 200.
    for (let i = 0; i < 500; i++) t.add(Math.pow(10, -2 + ((i * 7) % 10) / 10));
    expect(t.windowBins).toBeLessThanOrEqual(10 + 2 * 4);
    // An error three decades above grows it, keeping what it held.
    const q = t.quantile(0.5);
    t.add(10);
    expect(t.windowBins).toBeGreaterThan(30);
    expect(t.windowBins).toBeLessThan(200);
    expect(t.quantile(0.5)).toBe(q);
    // A restored one holds the same window (from its lowest bin with mass to its top).
    const back = TailCalibrator.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), { horizon: 100, minCount: 8 });
    expect(back.windowBins).toBeLessThan(200);
    expect(back.surprise(0.5)).toBe(t.surprise(0.5));
  });
});
