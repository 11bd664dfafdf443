/**
 * A fridge-like duty cycle on a Tasmota plug (tryout 20, finding 2): `Power` ≈ 60 W for about 30 readings, then ≈ 5 W
 * for about 30, every 2 s, `Time` stamped (whole seconds, so a reading now and then lands 3 s after the one before:
 * a filled step). Through the detector the daemon runs (shipped config and model, the tasmota preset): its normal
 * cycle, with a switch that once comes a few readings late (a compressor's phases vary), opens nothing; a plug stuck
 * on, a 3,000 W reading and a level never seen are caught. Before the cycle's slack and phase lock
 * (src/pipeline/cycle.ts CycleProfile.nearest and realign), one late switch on a regular cycle made every switch after
 * it "off the usual cycle" (Power, ApparentPower, ReactivePower, Current) for ~1,000 readings, until the new normal.
 */
import { describe, expect, it } from 'vitest';
import { CycleProfile } from '../../src/pipeline/cycle.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedMessages, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 2, 12);

interface Plan {
  /** Readings. */
  readonly n: number;
  /** On and off phase lengths in readings: each phase's length is drawn by `length` (on first). */
  readonly length: (on: boolean, rnd: () => number, at: number) => number;
  /** The level of reading i in W (fault injection), given its normal level. */
  readonly level?: (i: number, normal: number) => number;
  readonly seed: number;
}

/** Tasmota SENSOR messages of plug1 for `plan`: Power with about 1 W of noise, the other fields from it, as the tryout's simulator. */
function plugMessages(plan: Plan): { topic: string; payload: Buffer; receivedAt: number }[] {
  const u = lcg(plan.seed);
  const gauss = (): number => {
    let s = 0;
    for (let i = 0; i < 6; i++) s += u();
    return s - 3;
  };
  const on: boolean[] = [];
  for (let state = true; on.length < plan.n; state = !state) {
    const len = plan.length(state, u, on.length);
    for (let k = 0; k < len; k++) on.push(state);
  }
  let t = T0;
  return Array.from({ length: plan.n }, (_, i) => {
    // A publisher's 2 s timer that runs a few ms late each time, stamped in whole seconds: now and then 3 s.
    t += 2000 + u() * 26;
    const ts = Math.floor(t / 1000) * 1000;
    const normal = on[i] ? 60 : 5;
    const power = (plan.level === undefined ? normal : plan.level(i, normal)) + gauss() * 1.5;
    const voltage = 230 + gauss() * 0.8;
    const ENERGY = { Power: Math.round(power), ApparentPower: Math.round(power * 1.1), ReactivePower: Math.round(power * 0.4), Voltage: Math.round(voltage), Current: +(power / voltage).toFixed(3) };
    return { topic: 'tele/plug1/SENSOR', payload: Buffer.from(JSON.stringify({ Time: new Date(ts).toISOString().slice(0, 19), ENERGY })), receivedAt: ts };
  });
}

async function run(plan: Plan): Promise<Explained[]> {
  const { det, book } = await shippedDetector(['*power*=W'], { presets: ['tasmota'], timezone: 'UTC' });
  const out: Explained[] = [];
  await feedMessages(det, book, plugMessages(plan), out);
  return out;
}

const opens = (out: readonly Explained[]): Explained[] => out.filter((x) => x.ev.kind === 'open');
const describeOpens = (out: readonly Explained[]): string[] => opens(out).map((x) => x.e?.sentence ?? x.ev.sensor);
/** Reading i's time stamp, about (the publisher's drift makes it up to 13 ms a reading later). */
const near = (i: number): number => T0 + i * 2000;

describe.skipIf(!builtAndModelsPresent())('a two-level duty cycle on a Tasmota plug, through the shipped detector', () => {
  it('a regular 30 / 30 cycle whose off phase once lasts 35 readings opens nothing', async () => {
    for (const late of [5]) {
      // The off phase that starts after reading 900 lasts 30 + late readings; all others 30.
      const out = await run({ n: 3000, seed: 7, length: (on, _rnd, at) => (!on && at >= 900 && at < 960 ? 30 + late : 30) });
      expect(describeOpens(out)).toEqual([]);
    }
  }, 120_000);

  it('jittered phases (25 to 35 readings each) and a period of 37 + 23 readings open nothing', async () => {
    const jittered = await run({ n: 3000, seed: 11, length: (_on, rnd) => 25 + Math.floor(rnd() * 11) });
    expect(describeOpens(jittered)).toEqual([]);
    const odd = await run({ n: 3000, seed: 13, length: (on) => (on ? 37 : 23) });
    expect(describeOpens(odd)).toEqual([]);
  }, 120_000);

  it('catches a plug stuck on, a 3,000 W reading and a level never seen, each with one episode on Power', async () => {
    const regular = (): number => 30;
    const cases: { name: string; level: (i: number, normal: number) => number; from: number; to: number }[] = [
      // Stuck on from an on phase's start (reading 1,500): the off phase from 1,530 never comes.
      { name: 'stuck on', level: (i, normal) => (i >= 1500 && i < 1700 ? 60 : normal), from: 1530, to: 1700 },
      { name: '3000 W', level: (i, normal) => (i === 1515 ? 3000 : normal), from: 1515, to: 1516 },
      { name: '30 W', level: (i, normal) => (i >= 1500 && i < 1600 ? 30 : normal), from: 1500, to: 1600 },
    ];
    for (const c of cases) {
      const out = await run({ n: 2200, seed: 17, length: regular, level: c.level });
      const power = opens(out).filter((x) => x.ev.sensor === 'plug1/ENERGY.Power');
      expect(power.map((x) => x.ev.startTs >= near(c.from) - 2000 && x.ev.startTs <= near(c.to) + 30_000), c.name).toEqual([true]);
    }
  }, 180_000);
});

describe('CycleProfile: a duty cycle whose switch comes late', () => {
  /** A clean square wave (60 / 5, phases of 30), with the off phase after reading `at` lasting 30 + `late`. */
  function square(n: number, at: number, late: number): number[] {
    const out: number[] = [];
    for (let on = true; out.length < n; on = !on) {
      const len = !on && out.length >= at && out.length < at + 60 ? 30 + late : 30;
      for (let k = 0; k < len; k++) out.push(on ? 60 : 5);
    }
    return out.slice(0, n);
  }

  /** The largest |residual| of readings [from, n) against the profile where each stands (nearest), scale 1. */
  function largestResidual(xs: readonly number[], from: number): number {
    const cy = new CycleProfile();
    let worst = 0;
    xs.forEach((x, i) => {
      const d = cy.nearest(x, 1, false);
      if (i >= from) worst = Math.max(worst, Math.abs(x - cy.expectedAt(d)));
      if (i > 0) cy.realign(xs[i - 1], x, 0, 1);
      cy.teach(x, Infinity, d);
      cy.advance(x, 0, false);
    });
    return worst;
  }

  it('is on time within the slack', () => {
    // The period is found at reading 512; the late switch after reading 900. A noise-free wave's profile is within a
    // few W of it after the estimate (the profile is taught an eighth of each residual); a late switch adds nothing.
    const regular = largestResidual(square(2000, 900, 0), 600);
    expect(regular).toBeLessThan(5);
    expect(largestResidual(square(2000, 900, 5), 600)).toBeLessThanOrEqual(regular + 1e-9);
  });

  it('leaves a smooth cycle at its own place (no switch: a sine steps by at most 1.41 times its median step)', () => {
    const cy = new CycleProfile();
    for (let i = 0; i < 1200; i++) {
      const x = 10 * Math.sin((2 * Math.PI * i) / 40);
      cy.teach(x, Infinity);
      cy.advance(x, 0, false);
    }
    expect(cy.period).toBeCloseTo(40, 1);
    for (const x of [-20, -10, 0, 10, 20]) expect(cy.nearest(x, 0.01, false)).toBe(0);
  });
});
