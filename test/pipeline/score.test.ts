import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, map, toArray } from 'rxjs';
import type { WindowResult } from '../../src/contract/types.js';
import type { LogErrorPrior, ScoreOptions } from '../../src/pipeline/calibrate.js';
import type { LifecycleOptions } from '../../src/pipeline/lifecycle.js';
import { ScoringRegistry, type ScoreOutput, scoreWindows } from '../../src/pipeline/score.js';

const PRIOR: LogErrorPrior = { logErrMean: -3, logErrStd: 0.4 };
const SCORE: ScoreOptions = { mode: 'reconstruction', shortWindow: 2, longWindow: 100, priorWeight: 10 };
const ALERTS: LifecycleOptions = { openAfter: 2, closeAfter: 2, minDurationMs: 0, cooldownMs: 0, updateIntervalMs: 0, updateMinDelta: 1, maxEpisodeMs: 0 };
const STEP = 1000;

function registry(overrides: Partial<ScoreOptions> = {}, threshold = 0.999): ScoringRegistry {
  let n = 0;
  return new ScoringRegistry({
    score: { ...SCORE, ...overrides },
    threshold,
    alerts: ALERTS,
    priorFor: () => PRIOR,
    newId: () => `id${++n}`,
  });
}

function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const seqs = new Map<string, number>();
function result(sensor: string, reconError: number, modelId = 'm1'): WindowResult {
  const seq = (seqs.get(sensor) ?? 0) + 1;
  seqs.set(sensor, seq);
  return {
    window: {
      sensor,
      channels: ['value'],
      startTs: seq * STEP - 4 * STEP,
      endTs: seq * STEP,
      maxLen: 4,
      validLength: 4,
      data: new Float32Array(4),
      paddedFraction: 0,
      advance: 1,
      resetState: false,
      filledSteps: 0,
      seq,
    },
    modelId,
    reconError,
    channelErrors: [reconError],
    predError: null,
  };
}

/** Deterministic "normal" errors (z between -1 and 1) so marble expectations do not depend on luck. */
function normal(sensor: string, i: number): WindowResult {
  return result(sensor, Math.exp(PRIOR.logErrMean + PRIOR.logErrStd * Math.sin(i)));
}

function anomalous(sensor: string): WindowResult {
  return result(sensor, Math.exp(PRIOR.logErrMean + 8 * PRIOR.logErrStd));
}

/** A registry that has finished learning `sensor`. */
function warmed(sensor: string, reg = registry()): ScoringRegistry {
  const calibrator = reg.calibratorFor(sensor, 'm1');
  for (let i = 0; calibrator.learning; i++) calibrator.update(normal(sensor, i), false);
  return reg;
}

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Compares outputs by what matters in marbles: the event kinds of each window. */
function eventKinds(o: ScoreOutput): string {
  return o.events.map((e) => e.kind).join('+') || 'none';
}

describe('scoreWindows (marbles)', () => {
  it('emits one output per window, in time, and opens/resolves an episode', () => {
    const reg = warmed('s');
    const inputs = {
      a: normal('s', 1),
      b: anomalous('s'),
      c: anomalous('s'),
      d: anomalous('s'),
      e: normal('s', 2),
      f: normal('s', 3),
      g: normal('s', 4),
      h: normal('s', 5),
    };
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d-e-f-g-h-|', inputs);
      const kinds = source.pipe(scoreWindows(reg), map(eventKinds));
      // b scores high but one window is not enough; c opens; the short average keeps e above threshold
      // (k = 2), f and g are the two below that resolve it.
      expectObservable(kinds).toBe('-a-b-c-d-e-f-g-h-|', {
        a: 'none',
        b: 'none',
        c: 'open',
        d: 'none',
        e: 'none',
        f: 'none',
        g: 'resolve',
        h: 'none',
      });
      expectSubscriptions(source.subscriptions).toBe('^----------------!');
    });
  });

  it('passes errors through and unsubscribes from the source when the consumer does', () => {
    const reg = warmed('s');
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('-a-#', { a: normal('s', 1) }, new Error('model failed'));
      expectObservable(failing.pipe(scoreWindows(reg))).toBe('-x-#', { x: expect.objectContaining({ events: [] }) as ScoreOutput }, new Error('model failed'));
      expectSubscriptions(failing.subscriptions).toBe('^--!');

      const endless = cold('-a-a-a-a-a-a', { a: normal('s', 1) });
      expectObservable(endless.pipe(scoreWindows(reg)), '^----!').toBe('-x-x-', { x: expect.anything() as ScoreOutput });
      expectSubscriptions(endless.subscriptions).toBe('^----!');
    });
  });
});

describe('scoreWindow semantics', () => {
  async function runAll(reg: ScoringRegistry, inputs: WindowResult[]): Promise<ScoreOutput[]> {
    return lastValueFrom(from(inputs).pipe(scoreWindows(reg), toArray()));
  }

  it('stamps each window with its score, the threshold and whether it is above', async () => {
    const reg = warmed('s');
    const out = await runAll(reg, [normal('s', 1), anomalous('s')]);
    expect(out[0].scored.threshold).toBe(0.999);
    expect(out[0].scored.above).toBe(false);
    expect(out[1].scored.score).toBeGreaterThan(0.999);
    expect(out[1].scored.above).toBe(true);
    expect(out[1].scored.result.window.seq).toBe(out[0].scored.result.window.seq + 1);
  });

  it('keeps sensors apart: an anomaly on one does not touch the other', async () => {
    const reg = warmed('b', warmed('a'));
    const inputs: WindowResult[] = [];
    for (let i = 0; i < 6; i++) inputs.push(anomalous('a'), normal('b', i));
    const out = await runAll(reg, inputs);
    const events = out.flatMap((o) => o.events);
    expect(events.map((e) => `${e.sensor}:${e.kind}`)).toEqual(['a:open']);
    expect(out.filter((o) => o.scored.result.window.sensor === 'b').every((o) => !o.scored.above)).toBe(true);
    expect(reg.lifecycleFor('a').status).toBe('anomalous');
    expect(reg.lifecycleFor('b').status).toBe('ok');
  });

  it('keeps a long anomaly open: its windows do not become the sensor’s normal', async () => {
    const reg = warmed('s');
    const out = await runAll(reg, Array.from({ length: 300 }, () => anomalous('s')));
    expect(out.flatMap((o) => o.events).map((e) => e.kind)).toEqual(['open']);
    expect(out[out.length - 1].scored.score).toBeGreaterThan(0.999);
  });

  it('with maxEpisodeMs, takes a long anomaly as the new normal: resolve, re-learn, and no new episode', async () => {
    let n = 0;
    const relearned: string[] = [];
    const reg = warmed(
      's',
      new ScoringRegistry({
        score: SCORE,
        threshold: 0.999,
        alerts: { ...ALERTS, maxEpisodeMs: 50 * STEP },
        priorFor: () => PRIOR,
        newId: () => `id${++n}`,
        onRelearn: (sensor) => relearned.push(sensor),
      }),
    );
    const out = await runAll(reg, Array.from({ length: 300 }, () => anomalous('s')));
    expect(out.flatMap((o) => o.events).map((e) => e.kind)).toEqual(['open', 'resolve']);
    expect(relearned).toEqual(['s']);
    // The shifted level is now what the sensor's history says is normal.
    expect(out[out.length - 1].scored.score).toBeLessThan(0.999);
    expect(reg.learning('s')).toBe(false);
  });

  it('raises no alert while a new sensor is learning, even when its scores are high', async () => {
    const reg = registry({ priorWeight: 40 });
    // This sensor's errors are 1000x the model's validation errors: the prior calls everything rare.
    const g = gaussian(3);
    const inputs = Array.from({ length: 400 }, () => result('new', 1000 * Math.exp(PRIOR.logErrMean + PRIOR.logErrStd * g())));
    const out = await runAll(reg, inputs);
    expect(out[0].scored.score).toBeGreaterThan(0.999);
    expect(out.slice(0, 40).every((o) => !o.scored.above)).toBe(true);
    expect(out.flatMap((o) => o.events)).toEqual([]);
    expect(reg.learning('new')).toBe(false);
  });

  it('starts a fresh calibrator when the sensor moves to another model', async () => {
    const reg = warmed('s');
    const before = reg.calibratorFor('s', 'm1');
    await runAll(reg, [result('s', 0.05, 'm2')]);
    expect(reg.calibratorFor('s', 'm2')).not.toBe(before);
    expect(reg.learning('s')).toBe(true);
  });
});

describe('ScoringRegistry snapshot', () => {
  it('restores calibrators and lifecycles so the stream continues identically', async () => {
    const g = gaussian(5);
    const stream = (sensor: string, n: number): WindowResult[] =>
      Array.from({ length: n }, (_, i) => (i % 40 < 3 ? anomalous(sensor) : result(sensor, Math.exp(PRIOR.logErrMean + PRIOR.logErrStd * g()))));
    const inputs = stream('s', 300);
    const cut = 83; // windows 80..82 are anomalous: the episode is open at the cut

    const whole = await lastValueFrom(from(inputs).pipe(scoreWindows(registry()), toArray()));

    const first = registry();
    const head = await lastValueFrom(from(inputs.slice(0, cut)).pipe(scoreWindows(first), toArray()));
    expect(first.lifecycleFor('s').status).toBe('anomalous');
    const second = registry();
    expect(second.restore(JSON.parse(JSON.stringify(first)))).toEqual([]);
    const tail = await lastValueFrom(from(inputs.slice(cut)).pipe(scoreWindows(second), toArray()));
    const strip = (o: ScoreOutput): unknown => ({ score: o.scored.score, above: o.scored.above, events: o.events.map((e) => [e.kind, e.startTs, e.endTs]) });
    expect([...head, ...tail].map(strip)).toEqual(whole.map(strip));
  });

  it('drops a calibrator saved under other score options and reports why', () => {
    const old = warmed('s');
    const reg = registry({ longWindow: 200 });
    const dropped = reg.restore(JSON.parse(JSON.stringify(old)));
    expect(dropped).toEqual(['calibrator s: score options changed']);
    expect(reg.learning('s')).toBe(true);
    expect(registry().restore('garbage')).toEqual(['snapshot: not an object']);
  });
});
