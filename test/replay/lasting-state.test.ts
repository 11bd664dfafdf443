/**
 * A lasting fault whose value stays inside the stream's normal range is one episode, not several that each
 * "recover" while it goes on (tryout 22, findings 1, 3 and 5).
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedMessages, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 2, 21);

interface Fridge {
  readonly stepMs: number;
  /** 'off': the compressor never starts; 'on': it never stops. */
  readonly hold: 'off' | 'on';
  /** Normal cycles before the fault, the fault's length in cycles, normal cycles after. */
  readonly before: number;
  readonly cycles: number;
  readonly after: number;
  readonly seed: number;
}

/** The shelf's fridge plug (zigbee2mqtt TS011F): 30 s at 80 ± 2.8 W, 60 s at 0.6 ± 0.07 W, one decimal. */
async function runFridge(f: Fridge): Promise<{ out: Explained[]; from: number; to: number }> {
  const u = lcg(f.seed);
  const gauss = (): number => {
    let s = 0;
    for (let i = 0; i < 6; i++) s += u();
    return (s - 3) / Math.sqrt(0.5);
  };
  const P = 90_000;
  const from = f.before * P + (f.hold === 'off' ? 30_000 : 0);
  const to = from + f.cycles * P;
  const end = to + f.after * P;
  const messages: { topic: string; payload: Buffer; receivedAt: number }[] = [];
  for (let t = 0; t < end; t += f.stepMs) {
    let on = t % P < 30_000;
    if (t >= from && t < to) on = f.hold === 'on';
    const pw = on ? 80 + 2 * gauss() : 0.6 + 0.05 * gauss();
    const volt = 231 + 0.8 * gauss();
    const ts = T0 + t;
    messages.push({ topic: 'zigbee2mqtt/fridge', payload: Buffer.from(JSON.stringify({ current: Math.round((pw / volt) * 100) / 100, power: Math.round(pw * 10) / 10, voltage: Math.round(volt) })), receivedAt: ts });
  }
  const { det, book } = await shippedDetector([], { presets: ['zigbee2mqtt'], timezone: 'UTC' });
  const out: Explained[] = [];
  await feedMessages(det, book, messages, out, true);
  return { out, from: T0 + from, to: T0 + to };
}

describe.skipIf(!builtAndModelsPresent())('a fridge plug that stays off or on, through the shipped detector (tryout 22)', () => {
  // 1 s: 14 cycles of history (21 min), about the tryout's; 10 s: 40 cycles (1 h). Each stays off (the compressor
  // never starts) or on (it never stops) for 4 cycles (6 min), then cycles again for 20 (30 min).
  for (const [stepMs, before] of [
    [1_000, 14],
    [10_000, 40],
  ]) {
    for (const hold of ['off', 'on'] as const) {
      it(`every ${stepMs / 1000} s, stays ${hold} for 4 cycles: one episode per stream, open while it lasts, told as a state held`, async () => {
        const r = await runFridge({ stepMs, hold, before, cycles: 4, after: 20, seed: 3 });
        const opens = r.out.filter((x) => x.ev.kind === 'open');
        // Nothing on the ordinary cycle before, nor on the cycle resumed after it (finding 5: its phases "off the usual
        // cycle" after it stayed off or on, the profile rebuilt with the fault's first readings as a late switch).
        expect(opens.filter((x) => x.ev.startTs < r.from || x.ev.startTs >= r.to).map((x) => x.e?.sentence)).toEqual([]);
        for (const sensor of ['fridge/power', 'fridge/current']) {
          const during = opens.filter((x) => x.ev.sensor === sensor && x.ev.startTs >= r.from && x.ev.startTs < r.to);
          expect(during.map((x) => x.e?.sentence)).toHaveLength(1);
          const id = during[0].ev.anomalyId;
          // Not "recovered" while the state goes on: its resolve comes once the cycle resumed.
          const resolve = r.out.find((x) => x.ev.kind === 'resolve' && x.ev.anomalyId === id);
          expect(resolve).toBeDefined();
          expect(resolve?.ev.endTs).toBeGreaterThanOrEqual(r.to - stepMs);
          // Its last word: the state held since it began, against the longest the stream held it before.
          expect(resolve?.e?.kind).toBe('stuck');
          expect(resolve?.e?.sentence).toMatch(new RegExp(`^${sensor} [\\d.]+ for \\d+ min since \\d\\d:\\d\\d, never longer than ${hold === 'off' ? 60 : 30} s before \\(stuck value\\)$`));
        }
      }, 300_000);
    }
  }
});

describe.skipIf(!builtAndModelsPresent())('a value stuck at a normal level, through the shipped detector (tryout 22)', () => {
  // The shelf's ESPHome garage temperature: 12.3 + 0.4 sin(t / 100 s) + N(0, 0.07) °C, one decimal, every second;
  // 12.5 from 450 s on for 3 min (the tryout's: one episode that resolved `recovered` 16 s in, LASTED 0s, and a second
  // one 19 s later). Holds on main (433d5fb) too: kept as a regression test.
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: one episode from the jump while the value stays stuck, resolved after it moves again`, async () => {
      const u = lcg(seed);
      const gauss = (): number => {
        let s = 0;
        for (let i = 0; i < 6; i++) s += u();
        return (s - 3) / Math.sqrt(0.5);
      };
      const [before, stuck] = [450, 180];
      const messages: { topic: string; payload: Buffer; receivedAt: number }[] = [];
      for (let i = 0; i < before + stuck + 120; i++) {
        const v = i >= before && i < before + stuck ? 12.5 : 12.3 + 0.4 * Math.sin(i / 100) + 0.05 * gauss();
        messages.push({ topic: 'esp-garage/sensor/temperature/state', payload: Buffer.from(v.toFixed(1)), receivedAt: T0 + i * 1000 });
      }
      const { det, book } = await shippedDetector([], { presets: ['esphome'], timezone: 'UTC' });
      const out: Explained[] = [];
      await feedMessages(det, book, messages, out, true);
      const [from, to] = [T0 + before * 1000, T0 + (before + stuck) * 1000];
      const opens = out.filter((x) => x.ev.kind === "open");
      expect(opens.map((x) => (x.ev.startTs - from) / 1000)).toHaveLength(1);
      expect(opens[0].ev.startTs).toBeGreaterThanOrEqual(from);
      // Resolved about when the value moved again, told stuck. Its last reading that held it should be the stuck
      // stretch's last (not met for seed 2: held to 163 s of the 180 by the step not undone, docs/SCORING.md section
      // 5, as the stuck evidence does not judge this stream yet; its resolve came at 179 s): within 20 readings of it.
      const resolve = out.find((x) => x.ev.kind === 'resolve' && x.ev.anomalyId === opens[0].ev.anomalyId);
      expect(resolve?.ev.endTs).toBeGreaterThanOrEqual(to - 20_000);
      expect(resolve?.e?.kind).toBe('stuck');
    }, 300_000);
  }
});
