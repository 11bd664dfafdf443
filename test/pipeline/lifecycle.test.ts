import { describe, expect, it } from 'vitest';
import type { AnomalyEvent, ScoredWindow } from '../../src/contract/types.js';
import { AnomalyLifecycle, type LifecycleOptions } from '../../src/pipeline/lifecycle.js';

const STEP = 10_000; // one window every 10 s
const THRESHOLD = 0.99;

const BASE: LifecycleOptions = {
  openAfter: 2,
  closeAfter: 3,
  minDurationMs: 0,
  cooldownMs: 0,
  updateIntervalMs: 0,
  updateMinDelta: 1, // no updates unless a test asks for them
  maxEpisodeMs: 0,
};

function ids(): () => string {
  let n = 0;
  return () => `a${++n}`;
}

function scored(i: number, score: number, channelErrors: number[] = [score, 1 - score]): ScoredWindow {
  const endTs = 1_000_000 + i * STEP;
  return {
    result: {
      window: {
        sensor: 'pump',
        channels: ['x', 'y'],
        startTs: endTs - 4 * STEP,
        endTs,
        maxLen: 4,
        validLength: 4,
        data: new Float32Array(8),
        paddedFraction: i % 3 === 0 ? 0.25 : 0,
        advance: 1,
        resetState: false,
        filledSteps: 0,
        seq: i,
      },
      modelId: 'm1',
      reconError: 0.1,
      channelErrors,
      predError: null,
    },
    score,
    threshold: THRESHOLD,
    above: score >= THRESHOLD,
  };
}

/** Runs a score sequence through a lifecycle; returns the events with the window index that caused them. */
function feed(lc: AnomalyLifecycle, scores: readonly number[], from = 0): { at: number; event: AnomalyEvent }[] {
  return scores.flatMap((s, k) => lc.update(scored(from + k, s)).map((event) => ({ at: from + k, event })));
}

/** 'X' above threshold, '-' below. */
function pattern(p: string): number[] {
  return [...p].map((c) => (c === 'X' ? 0.999 : 0.5));
}

function kinds(events: readonly { event: AnomalyEvent }[]): string {
  return events.map((e) => e.event.kind).join(',');
}

describe('AnomalyLifecycle hysteresis', () => {
  it('does not open on a single spike with openAfter = 2', () => {
    const lc = new AnomalyLifecycle('pump', BASE, ids());
    expect(feed(lc, pattern('--X--X---X-'))).toEqual([]);
    expect(lc.status).toBe('ok');
  });

  it('opens a sustained run exactly once, at the openAfter-th window, then resolves after closeAfter below', () => {
    const lc = new AnomalyLifecycle('pump', BASE, ids());
    const events = feed(lc, pattern('--XXXXXXXX---'));
    expect(kinds(events)).toBe('open,resolve');
    expect(events[0].at).toBe(3);
    expect(events[1].at).toBe(12);
    const [open, resolve] = events.map((e) => e.event);
    expect(open.anomalyId).toBe(resolve.anomalyId);
    expect(open.startTs).toBe(scored(2, 0).result.window.endTs);
    expect(resolve.startTs).toBe(open.startTs);
    expect(resolve.endTs).toBe(scored(9, 0).result.window.endTs);
    expect(resolve.windows).toBe(8);
    expect(lc.status).toBe('ok');
  });

  it('is anomalous from the open to the resolve', () => {
    const lc = new AnomalyLifecycle('pump', BASE, ids());
    const statuses = pattern('-XX-X---').map((s, i) => {
      lc.update(scored(i, s));
      return lc.status;
    });
    expect(statuses).toEqual(['ok', 'ok', 'anomalous', 'anomalous', 'anomalous', 'anomalous', 'anomalous', 'ok']);
  });

  it('gives one episode when scores alternate above and below within the hysteresis', () => {
    const lc = new AnomalyLifecycle('pump', BASE, ids());
    const events = feed(lc, pattern('XX-X-XX--X-X--X---'));
    expect(kinds(events)).toBe('open,resolve');
    expect(events[1].event.windows).toBe(15); // first to last X
  });

  it('opens a new episode with a new id for a new incident', () => {
    const lc = new AnomalyLifecycle('pump', BASE, ids());
    const events = feed(lc, pattern('XX---XX---'));
    expect(kinds(events)).toBe('open,resolve,open,resolve');
    expect(events[0].event.anomalyId).not.toBe(events[2].event.anomalyId);
    expect(events[2].event.anomalyId).toBe(events[3].event.anomalyId);
  });

  it('reports the peak window: its score, channel errors and padding', () => {
    const lc = new AnomalyLifecycle('pump', BASE, ids());
    const events = feed(lc, [0.995, 0.9999, 0.993, 0.2, 0.2, 0.2]);
    const [open, resolve] = events.map((e) => e.event);
    expect(open.peakScore).toBe(0.9999);
    expect(open.score).toBe(0.9999);
    expect(open.channelErrors).toEqual([0.9999, 1 - 0.9999]);
    expect(resolve.peakScore).toBe(0.9999);
    expect(resolve.score).toBe(0.2);
    expect(resolve.channels).toEqual(['x', 'y']);
    expect(resolve.paddedFraction).toBe(scored(1, 0).result.window.paddedFraction);
    expect(resolve.threshold).toBe(THRESHOLD);
    expect(resolve.modelId).toBe('m1');
  });
});

describe('AnomalyLifecycle durations', () => {
  it('does not resolve before minDurationMs has passed since the start', () => {
    const lc = new AnomalyLifecycle('pump', { ...BASE, minDurationMs: 10 * STEP }, ids());
    const events = feed(lc, pattern('XX----------------'));
    expect(kinds(events)).toBe('open,resolve');
    // start at window 0; 10 windows later is the first moment the episode is old enough
    expect(events[1].at).toBe(10);
  });

  it('keeps a recurrence inside the cooldown in the same episode, and resolves only after a quiet cooldown', () => {
    const lc = new AnomalyLifecycle('pump', { ...BASE, cooldownMs: 6 * STEP }, ids());
    const events = feed(lc, pattern('XX-----XX-----------'));
    expect(kinds(events)).toBe('open,resolve');
    expect(events[1].at).toBe(8 + 6);
    expect(events[1].event.endTs).toBe(scored(8, 0).result.window.endTs);
  });

  it('takes an episode that outlasts maxEpisodeMs as the new normal: resolve, and a relearn request once', () => {
    const lc = new AnomalyLifecycle('pump', { ...BASE, maxEpisodeMs: 10 * STEP }, ids());
    // (Alone, the lifecycle would re-open on the next two windows above; the scorer re-learns instead.)
    const events = feed(lc, pattern('XXXXXXXXXXXX'));
    expect(kinds(events)).toBe('open,resolve');
    expect(events[1].at).toBe(10);
    expect(lc.status).toBe('ok');
    expect(lc.takeRelearn()).toBe(true);
    expect(lc.takeRelearn()).toBe(false);
    const unlimited = new AnomalyLifecycle('pump', BASE, ids());
    expect(kinds(feed(unlimited, pattern('XXXXXXXXXXXXXXXX')))).toBe('open');
    expect(unlimited.takeRelearn()).toBe(false);
  });

  it('starts a new episode once the cooldown has passed', () => {
    const lc = new AnomalyLifecycle('pump', { ...BASE, cooldownMs: 3 * STEP }, ids());
    const events = feed(lc, pattern('XX-----XX-----'));
    expect(kinds(events)).toBe('open,resolve,open,resolve');
  });

  it('never emits an event for an id after its resolve', () => {
    const lc = new AnomalyLifecycle('pump', { ...BASE, cooldownMs: 2 * STEP, updateMinDelta: 0, maxEpisodeMs: 0 }, ids());
    const events = feed(lc, pattern('XXX-X--XXXX----X-XX---XX-X-X-XXXX------'));
    const resolved = new Set<string>();
    for (const { event } of events) {
      expect(resolved.has(event.anomalyId)).toBe(false);
      if (event.kind === 'resolve') resolved.add(event.anomalyId);
    }
    expect(resolved.size).toBeGreaterThan(1);
    expect(events[events.length - 1].event.kind).toBe('resolve');
  });
});

describe('AnomalyLifecycle updates', () => {
  it('emits an update when the score rises materially, at most once per updateIntervalMs', () => {
    const lc = new AnomalyLifecycle('pump', { ...BASE, updateIntervalMs: 3 * STEP, updateMinDelta: 0.001 }, ids());
    // open at window 1 with 0.991; every later window rises by 0.001
    const rising = Array.from({ length: 8 }, (_, i) => 0.991 + 0.001 * i);
    const events = feed(lc, [0.991, ...rising]);
    const updates = events.filter((e) => e.event.kind === 'update');
    expect(updates.map((u) => u.at)).toEqual([4, 7]);
    for (let i = 1; i < updates.length; i++) expect(updates[i].event.peakScore).toBeGreaterThan(updates[i - 1].event.peakScore);
  });

  it('does not emit updates for a steady or falling score', () => {
    const lc = new AnomalyLifecycle('pump', { ...BASE, updateIntervalMs: 0, updateMinDelta: 0.0005 }, ids());
    const events = feed(lc, [0.9995, 0.9995, 0.9995, 0.9993, 0.9992, 0.9991, 0.9995, 0.9994]);
    expect(kinds(events)).toBe('open');
  });

  it('reports a new peak reached during the rate limit once the interval has passed', () => {
    const lc = new AnomalyLifecycle('pump', { ...BASE, updateIntervalMs: 4 * STEP, updateMinDelta: 0.002 }, ids());
    const events = feed(lc, [0.991, 0.991, 0.999, 0.992, 0.992, 0.992, 0.992]);
    const updates = events.filter((e) => e.event.kind === 'update');
    expect(updates.map((u) => u.at)).toEqual([5]);
    expect(updates[0].event.peakScore).toBe(0.999);
    expect(updates[0].event.score).toBe(0.992);
  });
});

describe('AnomalyLifecycle state', () => {
  it('round-trips through JSON mid-episode and continues with the same events', () => {
    const options = { ...BASE, cooldownMs: 2 * STEP, updateIntervalMs: STEP, updateMinDelta: 0.001 };
    const scores = [0.2, 0.995, 0.996, 0.998, 0.5, 0.9991, 0.2, 0.2, 0.2, 0.2, 0.995, 0.2, 0.995, 0.997, 0.2];
    const whole = new AnomalyLifecycle('pump', options, ids());
    const all = feed(whole, scores);

    const first = new AnomalyLifecycle('pump', options, ids());
    const before = feed(first, scores.slice(0, 5));
    const restored = AnomalyLifecycle.fromJSON(JSON.parse(JSON.stringify(first)), options, (() => {
      const next = ids();
      next(); // the first id was used before the restart
      return next;
    })());
    expect(restored.status).toBe('anomalous');
    expect(restored.anomalyId).toBe('a1');
    const after = feed(restored, scores.slice(5), 5);
    expect([...before, ...after]).toEqual(all);
  });

  it('keeps a pending run across a restart', () => {
    const first = new AnomalyLifecycle('pump', BASE, ids());
    feed(first, pattern('-X'));
    const restored = AnomalyLifecycle.fromJSON(JSON.parse(JSON.stringify(first)), BASE, ids());
    expect(kinds(feed(restored, pattern('X'), 2))).toBe('open');
  });

  it('refuses malformed state and bad options', () => {
    expect(() => AnomalyLifecycle.fromJSON({ format: 'anomalyd-lifecycle', version: 1 }, BASE, ids())).toThrow(/sensor/);
    expect(() => AnomalyLifecycle.fromJSON({ format: 'x' }, BASE, ids())).toThrow(/lifecycle state/);
    const bad = { format: 'anomalyd-lifecycle', version: 1, sensor: 's', run: null, episode: { anomalyId: 'a' } };
    expect(() => AnomalyLifecycle.fromJSON(bad, BASE, ids())).toThrow(/startTs/);
    expect(() => new AnomalyLifecycle('s', { ...BASE, openAfter: 0 }, ids())).toThrow(/openAfter/);
  });
});
