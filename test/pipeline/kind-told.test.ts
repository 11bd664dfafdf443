/**
 * An episode's kind does not change at its resolve without having been told (docs/ALERTS.md, "What is told when"):
 * the kind its resolve tells is the kind its last alert while open told. Tryout 28, finding 6: a plug whose on phase is
 * 10 s of every 40 s, left on at 60 W for 200 s, was told `off the usual cycle` at its open, `level_shift` by an update,
 * and `stuck value` first by its resolve (the detector's dwell model, which judged the state held meanwhile, spoke to
 * no alert): an automation acting on the open and update saw a level shift, the stored record says stuck.
 * Through the shipped detector and the daemon's alert rules (feedAlerts: events, far readings, retellings).
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedAlerts, shippedDetector, type Sent } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 3, 12);
const S = 1000;

describe.skipIf(!builtAndModelsPresent())('a kind told at the resolve was told while the episode was open', () => {
  // Left on after 15 and 25 minutes of its cycle: the cycle finder holds its period, the dwell model has yet to judge a
  // dwell, so the episode opens `off the usual cycle` with no kind, and the dwell model speaks while it is open. (On main
  // its retelling told the switch-off reading a `spike`, its resolve `stuck value`.)
  for (const from of [900, 1500]) it(`a 1 Hz plug, on 10 s of every 40 s, left on for 200 s after ${from / 60} min: told a state held (stuck) before its resolve says so`, async () => {
    const u = lcg(28);
    const gauss = (): number => {
      let s = 0;
      for (let i = 0; i < 6; i++) s += u();
      return (s - 3) * Math.SQRT2;
    };
    // Its cycle until `from` (s), left on from then for 200 s, then its cycle again for 20 min; 60 ± 1.4 W on, 0.5 W off.
    const to = from + 200;
    const readings: { ts: number; value: number }[] = [];
    for (let t = 0; t < to + 1200; t++) {
      const on = (t >= from && t < to) || t % 40 < 10;
      readings.push({ ts: T0 + t * S, value: on ? Math.round((60 + gauss()) * 10) / 10 : 0.5 });
    }
    const { det, book } = await shippedDetector(['plug1=W']);
    const out: Sent[] = [];
    await feedAlerts(det, book, 'plug1', 'sensors/plug1', readings, out);
    // The episode of the plug left on: the one open while it was on past its usual 10 s.
    const open = out.find((x) => x.ev.kind === 'open' && x.ev.startTs >= T0 + from * S && x.ev.startTs < T0 + to * S);
    expect(open).toBeDefined();
    const mine = out.filter((x) => x.ev.anomalyId === open!.ev.anomalyId);
    const resolve = mine.find((x) => x.ev.kind === 'resolve');
    expect(resolve).toBeDefined();
    // Its resolve tells the state held (the detector's dwell model), as the docs say of a duty cycle left on.
    expect(resolve!.e?.kind).toBe('stuck');
    // And every alert before it that told a kind: the last of them told the resolve's kind.
    const told = mine.filter((x) => x.ev.kind !== 'resolve' && (x.e?.kind ?? null) !== null);
    expect(told.map((x) => x.e!.kind).at(-1)).toBe(resolve!.e!.kind);
  }, 180_000);
});
