/**
 * A report-on-change sensor in its learning period: its death is told in its own units, its sparse but usual quiet is
 * not (tryout 37, finding 6: a zigbee2mqtt sensor with a 60 s heartbeat dead at its 65th reading was told 14 min
 * after its death, 14 heartbeats, and one taken to send changes only never while it learnt). Rules
 * (Detector.youngDeathMs): dead after YOUNG_DEAD_AFTER (5) heartbeats once its longest gap recurs
 * (SendOnDelta.heartbeat), else after `window.learningSilenceMs` (24 h) and LEARNING_SILENCE_GAPS (10) times its
 * longest gap. The detector the daemon runs (the shipped configuration, no model) in virtual time, judged as the
 * daemon's tick does.
 */
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_QUIET, LEARNING_SILENCE_GAPS, YOUNG_DEAD_AFTER } from '../../src/pipeline/detector.js';
import { HEARTBEAT_SPREAD, SendOnDelta } from '../../src/pipeline/send-on-delta.js';
import { lcg } from '../helpers/lcg.js';
import { hallSensor as hall, reportOnChange } from '../helpers/report-on-change.js';
import { shippedDetector } from '../helpers/shipped-detector.js';
import { feedTicked, openedAfter } from '../helpers/silence.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/**
 * The young death the rules give a stream of these readings (its gaps) at `intervalMs` (its learnt interval):
 * YOUNG_DEAD_AFTER times its longest gap when the second longest is within HEARTBEAT_SPREAD of it and it is
 * HEARTBEAT_QUIET intervals at least, else the horizon: `learningSilenceMs` and LEARNING_SILENCE_GAPS times its longest
 * gap. Worked out from the readings, not asked of the rules' code.
 */
function expectedDeath(readings: readonly { ts: number }[], intervalMs: number, learningSilenceMs: number): { heartbeat: boolean; ms: number } {
  const gaps = readings.slice(1).map((r, i) => r.ts - readings[i].ts).sort((a, b) => b - a);
  const heartbeat = gaps[1] * (1 + HEARTBEAT_SPREAD) >= gaps[0] && gaps[0] >= HEARTBEAT_QUIET * intervalMs;
  return { heartbeat, ms: heartbeat ? YOUNG_DEAD_AFTER * gaps[0] : Math.max(learningSilenceMs, LEARNING_SILENCE_GAPS * gaps[0]) };
}

/**
 * A room temperature sent on change only, with no heartbeat (a Home Assistant statestream sensor): read each minute,
 * 20 ± 1.5 °C over the day and noise of 0.02 °C, to 0.1 °C; a report whenever that changed. Steady at the day's top
 * and bottom, it keeps quiet for an hour or more there. `days` of it from `t0`.
 */
function steadyOvernight(seed: number, t0: number, days: number): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  const out: { ts: number; value: number }[] = [];
  let last = Number.NaN;
  for (let t = t0; t < t0 + days * DAY; t += MIN) {
    const v = Math.round((20 + 1.5 * Math.sin((2 * Math.PI * (t - t0)) / DAY) + 0.02 * (rnd() + rnd() + rnd() - 1.5)) * 10) / 10;
    if (v !== last) {
      out.push({ ts: t, value: v });
      last = v;
    }
  }
  return out;
}

describe('SendOnDelta: its longest gaps, and a heartbeat once the longest recurs', () => {
  it('the longest gap seen again within HEARTBEAT_SPREAD is its heartbeat; seen once, or farther off, none', () => {
    const t = new SendOnDelta();
    for (const g of [3, 7, 60_000, 2, 12_000]) t.noteGap(g);
    expect(t.longestGapMs).toBe(60_000);
    expect(t.heartbeat).toBe(0);
    t.noteGap(60_000 / (1 + HEARTBEAT_SPREAD) - 100);
    expect(t.heartbeat).toBe(0);
    t.noteGap(61_500);
    expect(t.heartbeat).toBe(61_500);
    // Checkpointed with the rest of its young facts.
    expect(SendOnDelta.fromJSON(JSON.parse(JSON.stringify(t.toJSON()))).heartbeat).toBe(61_500);
    expect(() => SendOnDelta.fromJSON({ ...t.toJSON(), longest: [1, 2] })).toThrow(/longest first/);
  });
});

describe('a report-on-change sensor in its learning period (shipped configuration)', () => {
  it('tryout 37\'s hall sensor (60 s heartbeat) dead at its 65th reading, 8 seeds: nothing while it lives; dead, told within 5 heartbeats when its heartbeat came twice (14 on main), else by the horizon at the latest', async () => {
    let byBeat = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { det, book, config } = shippedDetector();
      const readings = hall(seed, 65, Date.UTC(2026, 11, 5, 23, 0, 0));
      const out = await feedTicked(det, book, readings, 2 * SEC);
      expect(out.map((o) => o.e?.kind)).toEqual([]);
      expect(det.learning('s')).toBe(true);
      const due = expectedDeath(readings, det.intervalOf('s') ?? 0, config.window.learningSilenceMs);
      expect(det.youngDeathMs('s')).toBe(due.ms);
      const at = openedAfter(det, 's', readings[64].ts, due.ms + MIN, 2 * SEC);
      expect(at).toBeGreaterThan(0);
      expect(at).toBeLessThanOrEqual(due.ms + 2 * SEC);
      if (due.heartbeat) byBeat++;
    }
    // The seeds whose heartbeat came twice in 65 reports (a reading that changes sends sooner): told by it.
    expect(byBeat).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('a 0.5 °C room sensor with a 50 min heartbeat: its quiet through 200 readings of its learning period told nothing; dead, told within 5 heartbeats when its heartbeat came twice, else by the horizon, 4 seeds', async () => {
    let byBeat = 0;
    for (const seed of [3, 7, 11, 13]) {
      const { det, book, config } = shippedDetector();
      const rows = reportOnChange({ seed, start: Date.UTC(2026, 0, 12), spanMs: 4 * DAY, heartbeatMs: 50 * MIN }).slice(0, 200);
      const readings = rows.map(([ts, value]) => ({ ts, value }));
      const out = await feedTicked(det, book, readings, MIN);
      expect(out.map((o) => o.e?.kind)).toEqual([]);
      expect(det.learning('s')).toBe(true);
      const due = expectedDeath(readings, det.intervalOf('s') ?? 0, config.window.learningSilenceMs);
      const at = openedAfter(det, 's', readings[readings.length - 1].ts, due.ms + HOUR, MIN);
      expect(at).toBeGreaterThan(0);
      expect(at).toBeLessThanOrEqual(due.ms + MIN);
      if (due.heartbeat) {
        byBeat++;
        expect(at).toBeLessThanOrEqual(YOUNG_DEAD_AFTER * 50 * MIN + MIN);
      }
    }
    // Seed 3's heartbeat came twice in its 200 reports; the others' at most once (a room's value changes within 50 min).
    expect(byBeat).toBeGreaterThanOrEqual(1);
  }, 300_000);

  it('a temperature sent on change only, no heartbeat, steady for nearly 2 h at the day\'s top and bottom: 240 readings (1.4 to 1.6 days) of its learning period told nothing; dead, told after twice its longest quiet, by its young death at the latest (seed 9: its longest quiets recur within 5 %; seed 5: they do not, the horizon)', async () => {
    for (const seed of [5, 9]) {
      const { det, book, config } = shippedDetector();
      const readings = steadyOvernight(seed, Date.UTC(2026, 0, 12), 6).slice(0, 240);
      const out = await feedTicked(det, book, readings, 5 * MIN);
      expect(out.map((o) => o.e?.kind)).toEqual([]);
      expect(det.learning('s')).toBe(true);
      let longest = 0;
      for (let i = 1; i < readings.length; i++) longest = Math.max(longest, readings[i].ts - readings[i - 1].ts);
      expect(longest).toBeGreaterThan(90 * MIN);
      const due = expectedDeath(readings, det.intervalOf('s') ?? 0, config.window.learningSilenceMs);
      expect(due.heartbeat).toBe(seed === 9);
      const at = openedAfter(det, 's', readings[readings.length - 1].ts, due.ms + HOUR, 5 * MIN);
      // Not within its usual quiet (told after 2.2 of its longest on main already, by its arrivals: 4 h).
      expect(at).toBeGreaterThan(2 * longest);
      expect(at).toBeLessThanOrEqual(due.ms + 5 * MIN);
    }
  }, 300_000);

  it('40 reports a minute apart, each a 0.5 °C step (taken to send changes only): its gaps alike, no heartbeat; an hour of quiet told nothing, dead told at the horizon (24 h), not never', async () => {
    const { det, book, config } = shippedDetector();
    const rnd = lcg(21);
    let v = 20;
    const readings: { ts: number; value: number }[] = [];
    for (let i = 0; i < 40; i++) {
      if (i > 0) v = v <= 19.5 ? v + 0.5 : v >= 21 ? v - 0.5 : v + (rnd() < 0.5 ? -0.5 : 0.5);
      readings.push({ ts: Date.UTC(2026, 0, 12) + i * MIN + Math.round((rnd() - 0.5) * 4 * SEC), value: v });
    }
    const out = await feedTicked(det, book, readings, 10 * SEC);
    expect(out.map((o) => o.e?.kind)).toEqual([]);
    expect(det.changesOnly('s')).toBe(true);
    expect(det.youngDeathMs('s')).toBe(config.window.learningSilenceMs);
    const at = openedAfter(det, 's', readings[39].ts, 2 * DAY, 5 * MIN);
    expect(at).toBeGreaterThan(HOUR);
    expect(at).toBeGreaterThan(config.window.learningSilenceMs);
    expect(at).toBeLessThanOrEqual(config.window.learningSilenceMs + 5 * MIN);
  }, 120_000);
});
