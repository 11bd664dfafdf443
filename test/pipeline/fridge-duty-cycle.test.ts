/**
 * A fridge on a smart plug (tryout 30, finding F2): the compressor on at about 80 W (± 3 W of noise) for 12 to 18
 * minutes, off at 0.4 or 0.5 W for 25 to 35 minutes, each phase's length drawn afresh (a thermostat's), read every
 * 10 s or every 60 s. Its noise is the on state's: the off state is nearly exact. Through the detector the daemon runs
 * (shipped config and model), its normal cycle opens nothing after the learning period, at either rate and for
 * several seeds; before the cycle stood down on such a duty cycle (src/pipeline/scorer.ts cycleEvidence), the tryout's
 * recording opened 19 episodes in its first day ("0.5 W … (off the usual cycle)", "varies ± 0.10 W, usually ± 4").
 * A genuine fault is still told: the compressor left on for 3 hours, the plug stuck at one value, a burst of noise in
 * the on state.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 2, 12);

/** A fault from reading `from` to `to` (exclusive): the value of reading i given the normal one and whether it is on. */
interface Fault {
  readonly from: number;
  readonly to: number;
  /** The reading's value in W; `on` is the state the fault holds (left on: true throughout). */
  readonly value: (normal: number, gauss: () => number) => number;
  /** The fault holds the compressor on (no switch off during it). */
  readonly holdsOn: boolean;
}

/**
 * `n` readings of the fridge's power (W), one every `intervalS` seconds, from seed `seed`; `fault` replaces the readings
 * in its span. Phase lengths are drawn in minutes and converted to readings, so the cycle is the same in time at any rate.
 */
function fridge(seed: number, intervalS: number, n: number, fault?: Fault): { ts: number; value: number }[] {
  const u = lcg(seed);
  const gauss = (): number => {
    let s = 0;
    for (let i = 0; i < 12; i++) s += u();
    return s - 6;
  };
  const on: boolean[] = [];
  for (let state = u() < 0.5; on.length < n; state = !state) {
    const minutes = state ? 12 + u() * 6 : 25 + u() * 10;
    const len = Math.max(1, Math.round((minutes * 60) / intervalS));
    for (let k = 0; k < len; k++) on.push(state);
  }
  return Array.from({ length: n }, (_, i) => {
    const inFault = fault !== undefined && i >= fault.from && i < fault.to;
    const isOn = inFault && fault.holdsOn ? true : on[i];
    const normal = isOn ? 80 + gauss() * 3 : u() < 0.5 ? 0.4 : 0.5;
    const value = inFault ? fault.value(normal, gauss) : normal;
    return { ts: T0 + i * intervalS * 1000, value: Math.round(value * 10) / 10 };
  });
}

async function opensOf(readings: readonly { ts: number; value: number }[]): Promise<Explained[]> {
  const { det, book } = await shippedDetector(['*power*=W']);
  const out: Explained[] = [];
  await feedExplained(det, book, 'fridgeplug', 'sensors/fridgeplug', readings, out);
  return out.filter((x) => x.ev.kind === 'open');
}

const told = (opens: readonly Explained[]): string[] => opens.map((x) => `${new Date(x.ev.startTs).toISOString()} ${x.e?.sentence ?? ''}`);

describe.skipIf(!builtAndModelsPresent())('a fridge on a plug: a duty cycle with per-state noise and phases of varying length', () => {
  it('its normal cycle opens nothing, every 10 s and every 60 s, for several seeds', async () => {
    // Two days every 10 s (17,280 readings, about 60 cycles), four days every 60 s (5,760 readings, about 120 cycles).
    for (const [intervalS, n] of [
      [10, 17_280],
      [60, 5_760],
    ] as const) {
      // Of seeds 1 to 10, int2 opened episodes on seeds 2, 4 and 9 every 10 s (15, 7 and 4) and on seed 6 every 60 s (1).
      for (const seed of [1, 2, 4, 6]) {
        expect(told(await opensOf(fridge(seed, intervalS, n))), `every ${intervalS} s, seed ${seed}`).toEqual([]);
      }
    }
  }, 300_000);

  /** The faults from a day and a half in (after learning and many cycles), `intervalS` apart. */
  function faults(intervalS: number): { name: string; fault: Fault; n: number }[] {
    const perHour = 3600 / intervalS;
    const from = Math.round(36 * perHour);
    const n = Math.round(48 * perHour);
    const hours3 = Math.round(3 * perHour);
    return [
      { name: 'left on', n, fault: { from, to: from + hours3, holdsOn: true, value: (normal) => normal } },
      { name: 'stuck at 82.0 W', n, fault: { from, to: from + hours3, holdsOn: true, value: () => 82 } },
      // Five times the on state's noise in its on phases for an hour (the cycle switching as ever).
      { name: 'noise burst', n, fault: { from, to: from + perHour, holdsOn: false, value: (normal, gauss) => (normal > 20 ? normal + gauss() * 15 : normal) } },
    ];
  }

  async function toldInFault(intervalS: number, seed: number, c: { name: string; fault: Fault; n: number }): Promise<void> {
    const opens = await opensOf(fridge(seed, intervalS, c.n, c.fault));
    const inFault = opens.filter((x) => x.ev.startTs >= T0 + c.fault.from * intervalS * 1000 && x.ev.startTs < T0 + c.fault.to * intervalS * 1000);
    expect(inFault.length, `${c.name} every ${intervalS} s, seed ${seed}: ${told(opens).join(' | ')}`).toBeGreaterThan(0);
  }

  it('tells a compressor left on and a plug stuck at one value (every 10 s and 60 s), a noise burst in the on state (every 10 s)', async () => {
    for (const intervalS of [10, 60]) {
      for (const c of faults(intervalS)) {
        if (c.name === 'noise burst' && intervalS === 60) continue;
        for (const seed of [4, 5]) await toldInFault(intervalS, seed, c);
      }
    }
  }, 600_000);

  // Not told (int2 neither, before this change): read every 60 s an on phase is 12 to 18 readings, and the spread's
  // short mean of log squared changes, judged against the stream's usual change (the off state's 0.1 W), does not
  // single out an hour of five times the on state's noise between the switches' own changes.
  it.fails('tells a noise burst in the on state read every 60 s (not yet: a known gap)', async () => {
    const burst = faults(60).find((c) => c.name === 'noise burst');
    if (burst === undefined) throw new Error('no noise burst case');
    for (const seed of [4, 5]) await toldInFault(60, seed, burst);
  }, 300_000);
});
