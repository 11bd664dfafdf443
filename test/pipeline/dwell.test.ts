/**
 * A state held far longer than the stream's own dwells there (tryout: a fridge or a dehumidifier on a Tasmota plug,
 * `Power` ≈ 60 W for about 20 minutes, 0-2 W for about 40, each phase's length jittered as a thermostat's, read every
 * 10 s or 60 s). Left on (a stuck relay, a door left open), the plug is one episode on Power, told within a modest
 * margin past the longest on phase the stream has had, open until the plug switches off again, and told as held since
 * it began, never that long before. Before the dwell model
 * (src/pipeline/dwell.ts): at 10 s the episode was told "recovered" while the plug was still on (and opened again),
 * and a jittered cycle, whose period the cycle finder rejects, was caught by nothing at all.
 */
import { describe, expect, it } from 'vitest';
import { DwellTracker, normalTailSurprise } from '../../src/pipeline/dwell.js';
import { StreamScorer } from '../../src/pipeline/scorer.js';
import type { StepResult } from '../../src/pipeline/steps.js';
import { stepResult } from '../helpers/step-result.js';
import { TEST_SCORER } from './detector-helpers.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedMessages, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 2, 0);
const MIN = 60_000;

interface Plug {
  /** Reading interval, ms. */
  readonly stepMs: number;
  /** Each phase's length is its nominal (20 min on, 40 min off) times 1 ± up to this. */
  readonly jitter: number;
  readonly seed: number;
}

interface Run {
  readonly out: Explained[];
  /** The stuck-on stretch [from, to) (ms) and the longest and mean on phase before it (ms). */
  readonly from: number;
  readonly to: number;
  readonly longestOn: number;
  readonly meanOn: number;
}

/**
 * A plug's Tasmota SENSOR messages for 30 h: its cycle, then, from the start of the first on phase after 24 h, on
 * for 3 h (stuck), then its cycle again. Power 60 ± 1 W on, 0-2 W off, whole watts as Tasmota sends.
 */
async function runPlug(p: Plug): Promise<Run> {
  const u = lcg(p.seed);
  const gauss = (): number => {
    let s = 0;
    for (let i = 0; i < 6; i++) s += u();
    return s - 3;
  };
  const phases: { from: number; to: number; on: boolean }[] = [];
  let from = -1;
  for (let t = 0, on = true; t < 32 * 60 * MIN; on = !on) {
    if (on && from < 0 && t >= 24 * 60 * MIN) {
      from = t;
      phases.push({ from: t, to: t + 180 * MIN, on: true });
      t += 180 * MIN;
      on = false;
    }
    const len = (on ? 20 : 40) * MIN * (1 + p.jitter * (2 * u() - 1));
    phases.push({ from: t, to: t + len, on });
    t += len;
  }
  const before = phases.filter((x) => x.on && x.to <= from);
  const longestOn = Math.max(...before.map((x) => x.to - x.from));
  const meanOn = before.reduce((a, x) => a + x.to - x.from, 0) / before.length;
  const messages: { topic: string; payload: Buffer; receivedAt: number }[] = [];
  let k = 0;
  for (let t = 0; t < 30 * 60 * MIN; t += p.stepMs) {
    while (phases[k].to <= t) k++;
    const power = phases[k].on ? Math.round(60 + gauss() * 1.5) : Math.max(0, Math.round(1 + gauss() * 0.9));
    const ts = T0 + t;
    messages.push({ topic: 'tele/plug1/SENSOR', payload: Buffer.from(JSON.stringify({ Time: new Date(ts).toISOString().slice(0, 19), ENERGY: { Power: power } })), receivedAt: ts });
  }
  const { det, book } = await shippedDetector(['*power*=W'], { presets: ['tasmota'], timezone: 'UTC' });
  const out: Explained[] = [];
  await feedMessages(det, book, messages, out);
  return { out, from: T0 + from, to: T0 + from + 180 * MIN, longestOn, meanOn };
}

describe.skipIf(!builtAndModelsPresent())('a plug left on, through the shipped detector (dwell times)', () => {
  for (const stepMs of [10_000, 60_000]) {
    for (const jitter of [0, 0.2]) {
      it(`every ${stepMs / 1000} s, phases ±${jitter * 100} %: one episode, told within half an on phase past the longest, open while it stays on`, async () => {
        const r = await runPlug({ stepMs, jitter, seed: 5 + stepMs / 1000 + jitter * 10 });
        const opens = r.out.filter((x) => x.ev.kind === 'open');
        // Nothing before the plug sticks (its ordinary cycle), one episode on Power for the stuck stretch. (Not met
        // on main nor here, and left out: a jittered cycle read every 60 s, whose period the cycle finder accepted for a
        // while, was twice "off the usual cycle" in its ordinary phases, BENCHMARKS.md; no dwell was.)
        const early = opens.filter((x) => x.ev.startTs < r.from && !(x.e?.sentence ?? '').includes('off the usual cycle'));
        expect(early.map((x) => x.e?.sentence ?? x.ev.sensor)).toEqual([]);
        const stuck = opens.filter((x) => x.ev.startTs >= r.from && x.ev.startTs < r.to);
        expect(stuck.map((x) => x.ev.sensor)).toEqual(['plug1/ENERGY.Power']);
        const open = stuck[0].ev;
        // Not while the on phase is as long as the stream's own have been; within half a usual on phase past the longest.
        expect(open.startTs).toBeGreaterThanOrEqual(r.from + r.longestOn);
        expect(open.startTs).toBeLessThanOrEqual(r.from + r.longestOn + 0.5 * r.meanOn);
        // Open until the plug switches off: its resolve (if any) comes after the stuck stretch ends.
        const resolve = r.out.find((x) => x.ev.kind === 'resolve' && x.ev.anomalyId === open.anomalyId);
        if (resolve !== undefined) expect(resolve.ev.endTs).toBeGreaterThanOrEqual(r.to - stepMs);
        // Told as a state held since it began, against the longest the stream held it before (the episode's last word;
        // its open may be the cycle's, "off the usual cycle", where the cycle finder holds a period and speaks first).
        const told = r.out.filter((x) => x.ev.anomalyId === open.anomalyId).at(-1);
        expect(told?.e?.kind).toBe('stuck');
        expect(told?.e?.sentence).toMatch(/^plug1\/ENERGY\.Power [\d.]+ W for \d+ h( \d+ min)? since \d\d:\d\d, never longer than \d+ min before \(stuck value\)$/);
      }, 180_000);
    }
  }
});

describe('DwellTracker', () => {
  /** Feeds a square wave of on / off dwells (readings) at 60 / 1 with noise ±1, scale 0.7; returns the surprises. */
  function feed(t: DwellTracker, dwells: readonly number[], seed: number): number[] {
    const u = lcg(seed);
    const out: number[] = [];
    dwells.forEach((n, i) => {
      for (let k = 0; k < n; k++) out.push(t.step((i % 2 === 0 ? 60 : 1) + Math.round(2 * u() - 1), 0, 0.7, 10_000));
    });
    return out;
  }

  it('judges nothing before a state has ended 8 dwells, then a dwell past its usual ones', () => {
    const t = new DwellTracker();
    const normal = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 20 : 40) + (i % 5) - 2);
    const s = feed(t, normal, 1);
    expect(Math.max(...s)).toBeLessThan(3);
    // On again, and on: z = (d − 20) / max(sd, 20 / 16) grows with the dwell.
    const held = feed(t, [60], 2);
    expect(held[21]).toBeLessThan(2);
    expect(held[39]).toBeGreaterThan(6);
    expect(held[30]).toBeGreaterThan(held[25]);
  });

  it('judges only a channel whose segments alternate between two states (a duty cycle), not one visiting several levels', () => {
    const t = new DwellTracker();
    const u = lcg(9);
    // Four levels, each segment's level drawn at random (MSL's P-11 shape: its dwells at one level short, then one long).
    let worst = 0;
    for (let k = 0; k < 200; k++) {
      const level = [1, 20, 40, 60][Math.floor(u() * 4)];
      const n = k === 150 ? 200 : 5 + Math.floor(u() * 4);
      for (let i = 0; i < n; i++) worst = Math.max(worst, t.step(level + u() - 0.5, 0, 0.7, 10_000));
    }
    expect(worst).toBe(0);
  });

  it('a noisy state whose first reading lies off its level (a reading across the switch) is still one state: its holds are judged', () => {
    // Tryout 22's fridge plug: off 0.6 ± 0.07 W sets the typical change (scale 0.1), on 80 ± 2.8 W; an on phase whose
    // first reading was 85 W was a state of its own (a switch at the next, 6 × 0.1 away), breaking the alternation.
    const t = new DwellTracker();
    const u = lcg(4);
    const wave = (on: boolean, n: number, first: number): number[] => {
      const out: number[] = [];
      for (let k = 0; k < n; k++) out.push(t.step(on ? (k === 0 ? first : 80 + 4 * (u() - 0.5)) : 0.6 + 0.2 * (u() - 0.5), 0, 0.1, 10_000));
      return out;
    };
    for (let c = 0; c < 20; c++) {
      wave(true, 30, c % 3 === 0 ? 86 : c % 3 === 1 ? 40 : 80);
      wave(false, 60, 0.6);
    }
    // Off for 4 cycles: judged, past its 60-reading dwells.
    wave(true, 30, 86);
    const held = wave(false, 360, 0.6);
    expect(held[59]).toBeLessThan(2);
    expect(held[120]).toBeGreaterThan(6);
  });

  it('a blip (a spike of one reading) does not end a dwell', () => {
    const t = new DwellTracker();
    for (let i = 0; i < 30; i++) t.step(60, 0, 0.7, 10_000);
    t.step(200, 0, 0.7, 10_000);
    t.step(60, 0, 0.7, 10_000);
    expect(t.current).toBe(32);
  });

  it('one absurd reading inside a noisy state changes neither its dwells nor the alternation, a snapshot at it included', () => {
    // Tryout 30, finding 1: a fridge plug off at 0.45 W (scale 0.1), on at 80 ± 3 W; one 2100 W reading in an on
    // phase was followed by 85 W, taken for no return to 80 W (judged by the spike's own noise): the on phase was cut
    // in two and the alternation the judgement waits for started over.
    const run = (spikeAt: number, snapshotAt: number): DwellTracker => {
      let t = new DwellTracker();
      const u = lcg(30);
      let i = 0;
      for (let c = 0; c < 30; c++) {
        for (let k = 0; k < 90; k++, i++) {
          t.step(i === spikeAt ? 2100 : i === spikeAt + 1 ? 85 : 77 + 6 * u(), 0, 0.1, 10_000);
          if (i === snapshotAt) t = DwellTracker.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
        }
        for (let k = 0; k < 180; k++, i++) t.step(u() < 0.5 ? 0.4 : 0.5, 0, 0.1, 10_000);
      }
      return t;
    };
    const plain = run(-10, -1).toJSON();
    const spiked = run(20 * 270 + 40, 20 * 270 + 40).toJSON();
    expect(spiked.alternating).toBe(plain.alternating);
    expect(plain.alternating).toBeGreaterThan(16);
    expect(spiked.states.map((s) => [s.n, s.sx, s.sxx, s.longestMs])).toEqual(plain.states.map((s) => [s.n, s.sx, s.sxx, s.longestMs]));
  });

  it('a quantised stream flickering by one step between two of its levels is not judged as one long hold', () => {
    // The fresh-clone CI's find against spikeleft (test/explain/quantised-holds.test.ts, seed 2 at 10 s): a slow
    // cycle reported to 0.1 °C alternates between 21.5 and 21.6 in holds of 5 to 15 readings, then, near its turn,
    // sits on 21.6 with one-reading flickers to 21.5. A flicker is one of the stream's own levels, no absurd reading:
    // it ends the hold (taught at once, as before spikeleft), so the flickers are not joined into one 80-reading hold
    // judged against the 5 to 15 reading ones. Judged so, spikeleft's rule told `room 21.6 for 11 min` as stuck.
    const t = new DwellTracker();
    const u = lcg(2);
    // 41 holds, the last at 21.5: the flickering stretch below begins a hold at 21.6.
    for (let c = 0; c < 41; c++) {
      const d = 5 + Math.floor(11 * u());
      for (let k = 0; k < d; k++) t.step(c % 2 === 0 ? 21.5 : 21.6, 0, 0.005, 10_000);
    }
    expect(t.toJSON().alternating).toBeGreaterThanOrEqual(16);
    let most = 0;
    for (let k = 0; k < 80; k++) most = Math.max(most, t.step(k % 4 === 3 ? 21.5 : 21.6, 0, 0.005, 10_000));
    expect(most).toBe(0);
  });

  it('one dwell far beyond its state’s others before the judgement is not taught: a later long one is judged against the ordinary ones (tryout 39, finding 3)', () => {
    // On dwells of 18 to 22 readings, off dwells of 38 to 42; the seventh on dwell lasts 60 (the tryout's motor forced
    // on 38 min among runs of 6 to 18.5 min, before its dwells were judged). Then ordinary cycles, and an on dwell of 30.
    const cycle = (i: number): number => (i % 2 === 0 ? 20 : 40) + (i % 5) - 2;
    const ordinary = Array.from({ length: 30 }, (_, i) => cycle(i));
    const withLong = [...ordinary.slice(0, 12), 60, ...ordinary.slice(13), ...ordinary];
    const without = [...ordinary];
    without.push(...ordinary);
    const late = (dwells: number[]): number => {
      const t = new DwellTracker();
      feed(t, dwells, 5);
      return Math.max(...feed(t, [30], 6));
    };
    // z = (30 − 20) / max(1.4, 20 / 16) ≈ 7: told. Taught as a run, the 60 widens the spread to about 7.8 readings: z ≈ 1.2.
    expect(late(without)).toBeGreaterThan(5);
    expect(late(withLong)).toBeCloseTo(late(without), 0);
  });

  it('dwells far beyond the others are taught once three alike confirm them, not one or two (a new length)', () => {
    // Six ordinary on dwells (the first, begun at the tracker's first reading, not taught), then on dwells of 60, each
    // followed by an ordinary off dwell, and a last ordinary cycle: all before the judgement begins (8 dwells).
    const onState = (t: DwellTracker): { n: number; recent?: readonly number[]; doubts?: readonly number[] } => {
      const st = t.toJSON().states.find((s) => s.level > 30);
      if (st === undefined) throw new Error('no on state');
      return st;
    };
    const run = (longs: number): DwellTracker => {
      const t = new DwellTracker();
      const dwells = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 20 : 40) + (i % 5) - 2);
      for (let k = 0; k < longs; k++) dwells.push(60, 40);
      // The last on dwell ends: an off dwell follows it (taught when the off dwell outlasts the blip).
      feed(t, [...dwells, 20, 40], 7);
      return t;
    };
    // Forgotten counts (horizon 10,000 dwells): 6 taught is 5.998.
    expect(onState(run(0)).n).toBeCloseTo(6, 2);
    expect(onState(run(1)).n).toBeCloseTo(6, 2);
    expect(onState(run(1)).doubts).toHaveLength(3);
    expect(onState(run(2)).n).toBeCloseTo(6, 2);
    expect(onState(run(2)).doubts).toHaveLength(6);
    const confirmed = onState(run(3));
    expect(confirmed.n).toBeCloseTo(9, 2);
    expect(confirmed.doubts).toEqual([]);
    expect(confirmed.recent?.filter((d) => d === 60)).toHaveLength(3);
    // Its snapshot keeps the doubts; one from before them (no recent, no doubts) is read as none.
    const t = run(2);
    expect(DwellTracker.fromJSON(JSON.parse(JSON.stringify(t.toJSON()))).toJSON()).toEqual(t.toJSON());
    const old = { ...t.toJSON(), states: t.toJSON().states.map(({ recent: _r, doubts: _d, ...s }) => s) };
    expect(DwellTracker.fromJSON(old).toJSON().states.every((s) => s.recent?.length === 0 && s.doubts?.length === 0)).toBe(true);
    expect(() => DwellTracker.fromJSON({ states: [{ level: 1, n: 0, sx: 0, sxx: 0, seen: 0, dev: 0, longestMs: 0, doubts: [1, 2] }] })).toThrow(/triples/);
  });

  it('survives its snapshot', () => {
    const t = new DwellTracker();
    feed(t, Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 20 : 40)), 3);
    const back = DwellTracker.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(back.toJSON()).toEqual(t.toJSON());
    expect(() => DwellTracker.fromJSON({ states: [{ level: 1 }] })).toThrow(/dwell snapshot/);
  });

  it('normalTailSurprise is −log10 of the normal upper tail', () => {
    expect(normalTailSurprise(0)).toBeCloseTo(Math.log10(2), 6);
    expect(normalTailSurprise(1.959964)).toBeCloseTo(-Math.log10(0.025), 4);
    expect(normalTailSurprise(4.753424)).toBeCloseTo(6, 3);
    expect(normalTailSurprise(10)).toBeCloseTo(23.12, 1);
  });
});

describe('StreamScorer: the dwells in its checkpoint', () => {
  /** A one-channel reading of a 60 W / 1 W plug (no model; z against a level of 20 W, spread 28 W). */
  function step(i: number, v: number): StepResult<null> {
    return stepResult({ stream: 'p', index: i, ts: i * 60_000, values: [v], channels: ['power'], mean: [20], std: [28] });
  }

  /** 30 cycles of 20 readings on and 40 off, a snapshot at their end, then on for 60 readings. The reading that opens an episode (−1: none) and its evidence's stuck. */
  function stuckOn(restore: (snapshot: Record<string, unknown>) => Record<string, unknown> | null): { opened: number; stuck: number } {
    const u = lcg(21);
    const value = (on: boolean): number => (on ? 60 + Math.round(2 * u() - 1) : Math.max(0, Math.round(1 + 1.2 * (u() - 0.5))));
    let scorer = new StreamScorer(TEST_SCORER, { newId: () => 'e', priorsFor: () => null });
    let i = 0;
    for (let c = 0; c < 30; c++) for (let k = 0; k < 60; k++, i++) scorer.score(step(i, value(k < 20)), false);
    const snap = restore(JSON.parse(JSON.stringify(scorer.snapshot('p'))) as Record<string, unknown>);
    if (snap !== null) {
      scorer = new StreamScorer(TEST_SCORER, { newId: () => 'e', priorsFor: () => null });
      scorer.restore('p', snap);
    }
    for (let k = 0; k < 60; k++, i++) {
      const out = scorer.score(step(i, value(true)), false).scored;
      const open = out.events.find((e) => e.kind === 'open');
      if (open !== undefined) return { opened: k, stuck: open.evidence?.stuck ?? Number.NaN };
    }
    return { opened: -1, stuck: Number.NaN };
  }

  it('a restored scorer tells a plug left on as the one never interrupted; one whose checkpoint lacks them learns them again', () => {
    const straight = stuckOn(() => null);
    // Left on past its 20-reading on phases: opened by the dwell (stuck), a few readings past the longest.
    expect(straight.opened).toBeGreaterThan(20);
    expect(straight.opened).toBeLessThan(35);
    expect(straight.stuck).toBeGreaterThanOrEqual(5);
    expect(stuckOn((s) => s)).toEqual(straight);
    // Without `dwells` (a checkpoint from before them) the states are learnt again, 8 cycles before any is judged:
    // the dwell says nothing (what opens, if anything, is another kind's, later).
    const lost = stuckOn(({ dwells: _dwells, ...s }) => s);
    expect(lost.opened === -1 || lost.stuck < 1).toBe(true);
    expect(lost.opened === -1 || lost.opened > straight.opened).toBe(true);
  });
});


describe('DwellTracker.visiting: a reading at a state of a judged duty cycle, in an ordinary dwell (tryout 31, a kettle)', () => {
  /** Off 0 W for `off` readings, then on at 1800 ± 10 W for `on` readings (noise `noise` W instead, when given); whether visiting at each on reading. */
  function use(t: DwellTracker, u: () => number, off: number, on: number, noise = 10, level = 1800): boolean[] {
    for (let k = 0; k < off; k++) t.step(0, 0, 12, 10_000);
    const out: boolean[] = [];
    for (let k = 0; k < on; k++) {
      const x = Math.round(level + 2 * noise * (u() - 0.5));
      t.step(x, 0, 12, 10_000);
      out.push(t.visiting(x, 4.5));
    }
    return out;
  }

  it('is false until the on state has ended 8 dwells in a run of alternating segments, then true for a use of its usual length', () => {
    const u = lcg(31);
    const t = new DwellTracker();
    const seen: boolean[] = [];
    for (let i = 0; i < 12; i++) seen.push(use(t, u, 1000 + Math.round(2000 * u()), 18 + Math.round(12 * u())).every(Boolean));
    // Dwells ended in the on state before use i: i - 1 (the first off segment's start is unknown, but the first use began at a switch).
    expect(seen.slice(0, 8).some(Boolean)).toBe(false);
    expect(seen.slice(10)).toEqual([true, true]);
  });

  it('a rest (a state held 10 times as long as the other) held for a day is not judged; the fridge-like off phase is', () => {
    const u = lcg(33);
    const kettle = new DwellTracker();
    for (let i = 0; i < 12; i++) use(kettle, u, 1000 + Math.round(2000 * u()), 18 + Math.round(12 * u()));
    // A day without a use (8,640 readings at 10 s), after off dwells of 1,000 to 3,000.
    let worst = 0;
    for (let k = 0; k < 8640; k++) worst = Math.max(worst, kettle.step(0, 0, 12, 10_000));
    expect(worst).toBe(0);
    // Off 40, on 20 readings (a fridge's phases): its off phase held 10 times as long is judged rare.
    const fridge = new DwellTracker();
    for (let i = 0; i < 12; i++) use(fridge, u, 36 + Math.round(8 * u()), 18 + Math.round(4 * u()));
    for (let k = 0; k < 400; k++) worst = Math.max(worst, fridge.step(0, 0, 12, 10_000));
    expect(worst).toBeGreaterThan(5);
  });

  it('is false for a use held far longer than its dwells, a burst of noise in the on state, and a level the stream never had', () => {
    const u = lcg(32);
    const t = new DwellTracker();
    for (let i = 0; i < 12; i++) use(t, u, 1000 + Math.round(2000 * u()), 18 + Math.round(12 * u()));
    const held = use(t, u, 1500, 360);
    expect(held.slice(0, 20).every(Boolean)).toBe(true);
    expect(held[held.length - 1]).toBe(false);
    // Back to ordinary uses (the left-on is not taught: its dwell was rare), then a noisy one and one at 2,600 W.
    for (let i = 0; i < 3; i++) use(t, u, 1000 + Math.round(2000 * u()), 18 + Math.round(12 * u()));
    // ±60 W: its readings beyond half a switch of the state's level (3 typical changes, 36 W) are no visit, and one of
    // its first 8 is (each is with a chance of 0.4).
    expect(use(t, u, 1500, 24, 60).slice(0, 8).every(Boolean)).toBe(false);
    expect(use(t, u, 1500, 24, 10, 2600).some(Boolean)).toBe(false);
  });
});
