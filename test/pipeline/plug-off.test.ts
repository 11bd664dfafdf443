/**
 * A plug left on, then switched off as usual: the switch-off reading is the stream back at its own normal values, no
 * reading far beyond what was told (docs/ALERTS.md, "What is told when", point 8). Found after the `kindflip` branch: a
 * plug on 10 s of every 60 s at 60 W (0.5 W off), left on for minutes and told `60.0 W for 3 min … (stuck value)`, sent
 * its switch-off reading as an `update` telling `0.5 W, expected 59.8 ± 8 since 12:28` with no kind, and its resolve
 * told that, no kind, too. Expected: the open (`off the usual cycle` or the stuck value), its updates while it lasts, and
 * one resolve telling the kind last told, the state held to its switch-off.
 * Through the shipped detector and the daemon's alert rules (feedAlerts: events, far readings, retellings).
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedAlerts, shippedDetector, type Sent } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 3, 12);
const S = 1000;

interface Case {
  /** The plug's cycle, s: on for its first 10 s. */
  readonly period: number;
  /** Left on from (s) for (s). */
  readonly from: number;
  readonly lasts: number;
  /** The switch-off reading, W (its off readings are 0.5 W). */
  readonly off: number;
}

const CASES: readonly Case[] = [
  { period: 60, from: 1500, lasts: 200, off: 0.5 },
  { period: 60, from: 1800, lasts: 300, off: 0.5 },
  { period: 60, from: 1500, lasts: 200, off: 0 },
  { period: 60, from: 1200, lasts: 600, off: 0.5 },
  { period: 40, from: 1500, lasts: 200, off: 0 },
];

describe.skipIf(!builtAndModelsPresent())('a plug left on, then switched off: no far reading, the resolve tells the kind told', () => {
  for (const c of CASES) it(`a 1 Hz plug on 10 s of every ${c.period} s, left on for ${c.lasts} s after ${c.from / 60} min, switched off at ${c.off} W`, async () => {
    const u = lcg(28);
    const gauss = (): number => {
      let s = 0;
      for (let i = 0; i < 6; i++) s += u();
      return (s - 3) * Math.SQRT2;
    };
    const to = c.from + c.lasts;
    const readings: { ts: number; value: number }[] = [];
    for (let t = 0; t < to + 1200; t++) {
      const on = (t >= c.from && t < to) || t % c.period < 10;
      readings.push({ ts: T0 + t * S, value: on ? Math.round((60 + gauss()) * 10) / 10 : t === to ? c.off : 0.5 });
    }
    const { det, book } = await shippedDetector(['plug1=W']);
    const out: Sent[] = [];
    await feedAlerts(det, book, 'plug1', 'sensors/plug1', readings, out);
    const open = out.find((x) => x.ev.kind === 'open' && x.ev.startTs >= T0 + c.from * S && x.ev.startTs < T0 + to * S);
    expect(open).toBeDefined();
    const mine = out.filter((x) => x.ev.anomalyId === open!.ev.anomalyId);
    const shown = mine.map((x) => `${x.by} ${x.ev.kind} ${x.e?.sentence ?? ''}`);
    // No alert of the episode from the switch-off on but its resolve: the plug back at its off readings is no news.
    expect(mine.filter((x) => x.ev.kind !== 'resolve' && x.ev.endTs >= T0 + to * S).map((x) => `${x.by} ${x.ev.kind} ${x.e?.sentence ?? ''}`), shown.join('\n')).toEqual([]);
    expect(mine.filter((x) => x.by === 'farther')).toEqual([]);
    // One resolve, after the plug switched off, telling the state held: the kind the last alert with a kind told.
    const resolves = mine.filter((x) => x.ev.kind === 'resolve');
    expect(resolves).toHaveLength(1);
    const resolve = resolves[0];
    expect(resolve.ev.endTs).toBeGreaterThanOrEqual(T0 + (to - 1) * S);
    const told = mine.filter((x) => x.ev.kind !== 'resolve' && (x.e?.kind ?? null) !== null).map((x) => x.e!.kind);
    expect(told.length).toBeGreaterThan(0);
    expect(resolve.e?.kind, shown.join('\n')).toBe(told.at(-1));
    // Its sentence tells the plug's on level held, from when it was left on, for minutes (not its switch-off reading).
    expect(resolve.e?.sentence).toMatch(/^plug1 (59|60|61)\.\d W for \d+ min since 12:\d\d, never longer than \d+ s before \(stuck value\)$/);
  }, 180_000);
});
