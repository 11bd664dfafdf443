/**
 * Relations (src/daemon/relations.ts, src/pipeline/relation.ts; `score.relations`): a stream that follows a duty-cycled
 * stream of its device, told when the relation breaks (tryout 39, finding 2: a bearing temperature rising 9 °C while
 * its motor was off, silent). The generated pair of test/helpers/workshop-pair.ts at 2 s / 10 s and, the same process
 * counted in readings, at 1 min / 5 min. Through the daemon and a broker: test/e2e/relation.test.ts.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { OPEN_RUN, Relations, zOf, zSurprise } from '../../src/daemon/relations.js';
import { Follower, LeaderTimeline, SPAN } from '../../src/pipeline/relation.js';
import { workshopPair, type PairRow } from '../helpers/workshop-pair.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 5, 0, 0);
const DEVICE = 'workshop';
const CURRENT = `${DEVICE}/motor_current`;
const TEMP = `${DEVICE}/bearing_temp`;

interface Told {
  readonly ev: AnomalyEvent;
  readonly explanation: AlertExplanation | null;
}

/** The book over the workshop's streams (and `extra` ones of the device), fed `rows`; what it recorded. */
function run(rows: readonly { readonly stream: string; readonly ts: number; readonly value: number }[], extra: readonly string[] = []): Told[] {
  const told: Told[] = [];
  let id = 0;
  const book = new Relations({
    streamsOf: (device) => (device === DEVICE ? [CURRENT, TEMP, ...extra.map((s) => `${DEVICE}/${s}`)] : []),
    record: (ev, explanation) => {
      told.push({ ev, explanation });
      return true;
    },
    newId: () => `r${++id}`,
    threshold: 0.99999,
    holdMargin: 0.5,
    unitOf: (stream) => (stream === TEMP ? '°C' : stream === CURRENT ? 'A' : null),
    timeZone: 'UTC',
    log: pino({ level: 'silent' }),
  });
  for (const r of rows) book.reading(`${DEVICE}/${r.stream}`, DEVICE, r.ts, r.value);
  return told;
}

/** How many of the temperature's readings were judged (a finite z) against the current's state. */
function judged(rows: readonly PairRow[]): number {
  const leader = new LeaderTimeline();
  const follower = new Follower();
  let n = 0;
  const censor = (): number => zOf(5);
  for (const r of rows) {
    const verdicts = r.stream === 'motor_current' ? (leader.step(r.ts, r.value), follower.drain(leader, censor)) : follower.step(r.ts, r.value, leader, censor);
    n += verdicts.filter((v) => Number.isFinite(v.z)).length;
  }
  return n;
}

describe('the relation check (score.relations)', () => {
  for (const slow of [1, 30]) {
    const label = slow === 1 ? '2 s / 10 s' : '1 min / 5 min';
    const tempEvery = 10_000 * slow;

    it(`${label}: the temperature rising while the motor is off is one relation episode of the temperature, told within the fault and resolved after it`, () => {
      const faultAt = T0 + 6 * HOUR * slow;
      const faultMs = (40 / 60) * HOUR * slow;
      const rows = workshopPair({ start: T0, durationMs: 8 * HOUR * slow, slow, seed: 39, faultAt, faultMs });
      const told = run(rows);
      const opens = told.filter((t) => t.ev.kind === 'open');
      expect(opens).toHaveLength(1);
      const open = opens[0];
      expect(open.ev.sensor).toBe(TEMP);
      expect(open.ev.device).toBe(DEVICE);
      expect(open.explanation?.kind).toBe('relation');
      // Told inside the fault's first half (its first 120 of 240 temperature readings): the rise is offset by the
      // cooling at first (the bearing is still warm from the run before), so not at its first reading.
      expect(open.ev.endTs).toBeGreaterThan(faultAt);
      expect(open.ev.endTs).toBeLessThan(faultAt + faultMs / 2);
      expect(open.ev.startTs).toBeGreaterThanOrEqual(faultAt);
      expect(open.explanation?.sentence).toMatch(/^workshop\/bearing_temp (rising|falling) [+−][\d.]+ °C\/h while workshop\/motor_current is low \(0\.0\d+ A\), expected [+−][\d.]+ ± [\d.]+ °C\/h at [\d.]+ °C since \d\d:\d\d \(relation\)$/);
      const resolve = told.find((t) => t.ev.kind === 'resolve');
      expect(resolve?.ev.anomalyId).toBe(open.ev.anomalyId);
      // Resolved within OPEN_RUN + SPAN of the temperature's readings after the fault ended (its step back is one span's
      // rates on the other side; then the motor's cycle goes on, its first spans unjudged).
      expect(resolve?.ev.endTs).toBeGreaterThanOrEqual(faultAt + faultMs);
      expect(resolve?.ev.endTs).toBeLessThanOrEqual(faultAt + faultMs + (OPEN_RUN + SPAN + 1) * tempEvery);
      // Its peak is the rise: a rate up while the state's fit expected it down.
      expect(resolve?.explanation?.sentence).toMatch(/ rising \+[\d.]+ °C\/h while workshop\/motor_current is low .*, expected −/);
      expect(resolve?.explanation?.rate_per_hour).toBeGreaterThan(0);
      expect(told).toHaveLength(2);
    });

    it(`${label}: normal days are quiet (three seeds, a day each), an unrelated stream of the device too`, () => {
      for (const seed of [1, 2, 3]) {
        const rows: { stream: string; ts: number; value: number }[] = [...workshopPair({ start: T0, durationMs: 24 * HOUR * slow, slow, seed })];
        // A humidity of the same device every 30 s (· slow): a slow daily wave and noise, nothing to do with the motor.
        for (let ts = T0, k = 0; ts < T0 + 24 * HOUR * slow; ts += 30_000 * slow, k++) {
          const wave = 45 + 5 * Math.sin((2 * Math.PI * (ts - T0)) / (24 * HOUR * slow));
          rows.push({ stream: 'humidity', ts, value: Math.round((wave + 0.3 * Math.sin(k * 12.9898 + seed) * Math.cos(k * 78.233)) * 10) / 10 });
        }
        rows.sort((a, b) => a.ts - b.ts);
        expect(run(rows, ['humidity']).map((t) => t.explanation?.sentence)).toEqual([]);
        // Not quiet for want of judging: most of the temperature's readings were judged against the motor's state.
        expect(judged(rows.filter((r): r is PairRow => r.stream !== 'humidity'))).toBeGreaterThan(0.5 * rows.filter((r) => r.stream === 'bearing_temp').length);
      }
    }, 300_000);
  }

  it('judges a follower reading only once the leader’s readings reach its time: the same verdicts whichever stream comes first', () => {
    const faultAt = T0 + 6 * HOUR;
    const rows = workshopPair({ start: T0, durationMs: 8 * HOUR, slow: 1, seed: 7, faultAt, faultMs: (40 / 60) * HOUR });
    // The temperature's readings first within each minute (a hub that sends it ahead of the current by up to 60 s).
    const minute = (r: PairRow): number => Math.floor(r.ts / 60_000);
    const reordered = [...rows].sort((a, b) => minute(a) - minute(b) || (a.stream === b.stream ? a.ts - b.ts : a.stream === 'bearing_temp' ? -1 : 1));
    const a = run(rows).map((t) => [t.ev.kind, t.ev.startTs, t.ev.endTs]);
    const b = run(reordered).map((t) => [t.ev.kind, t.ev.startTs, t.ev.endTs]);
    expect(a.length).toBe(2);
    expect(b).toEqual(a);
  });

  it('a leader is a duty cycle only once it has alternated between two levels (DwellTracker), and tells its state at a time', () => {
    const leader = new LeaderTimeline();
    // 10 readings low, 10 high, …: 2 · 8 alternating ends are needed before a state is told.
    let ts = T0;
    const states: (0 | 1 | null)[] = [];
    for (let cycle = 0; cycle < 14; cycle++) {
      for (const level of [0.05, 8]) {
        for (let i = 0; i < 10; i++) {
          ts += 2000;
          leader.step(ts, level + (i % 2) * 0.01);
        }
        states.push(leader.state);
      }
    }
    expect(states.slice(0, 8).every((s) => s === null)).toBe(true);
    expect(states.at(-1)).toBe(1);
    expect(states.at(-2)).toBe(0);
    // Held over the last high stretch, not across the switch into it.
    expect(leader.heldOver(ts - 10_000, ts)).toBe(1);
    expect(leader.heldOver(ts - 30_000, ts)).toBeNull();
    // Not beyond its latest reading.
    expect(leader.heldOver(ts - 10_000, ts + 2000)).toBeNull();
  });

  it('zOf inverts the two-sided surprise (the threshold’s z: surprise 5 is |z| 4.42)', () => {
    expect(zSurprise(zOf(5))).toBeCloseTo(5, 6);
    expect(zOf(5)).toBeCloseTo(4.42, 2);
  });
});
