/**
 * Tryout 23, finding 3, through the detector the daemon runs (shipped config and GRU model, the zigbee2mqtt preset)
 * and the SignalBook that tells its episodes: a plug at 1 Hz, 30 s on (≈ 80 W, 0.35 A) and 60 s on standby (≈ 0.6 W,
 * 0.01 A), switched off (power 0, current 0, `state: "OFF"`) for 5 minutes from minute 13, then cycling again, as the
 * tryout's publisher (run/pub.mjs) sent it. The tryout's open said `plug/current 0.00 A, expected 0.02 ± 0.05 since
 * 04:11 (off the usual cycle)`, its update `0.00 A unchanged for 2 min, expected 0.01 ± 0.01`: bands that hold the
 * value. No sentence of any alert may give such a band as its reason.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedMessages, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 3, 3, 58, 49);
const MIN = 60_000;

/** The tryout's zigbee2mqtt/plug messages, one a second for `minutes`, off from minute 13 to 18. */
function plugMessages(minutes: number, seed: number): { topic: string; payload: Buffer; receivedAt: number }[] {
  const u = lcg(seed);
  let energy = 1.23;
  const out: { topic: string; payload: Buffer; receivedAt: number }[] = [];
  for (let sec = 1; sec <= minutes * 60; sec++) {
    const t = sec * 1000;
    const off = t >= 13 * MIN && t < 18 * MIN;
    const ph = sec % 90;
    let power: number;
    let current: number;
    if (off) {
      power = 0;
      current = 0;
    } else if (ph < 30) {
      power = +(80 + (u() - 0.5) * 3).toFixed(1);
      current = +(power / 230).toFixed(2);
    } else {
      power = +(0.6 + (u() - 0.5) * 0.2).toFixed(1);
      current = 0.01;
    }
    energy += power / 3600 / 1000;
    const payload = { power, current, energy: +energy.toFixed(2), state: off ? 'OFF' : 'ON', linkquality: 120 };
    // The publisher's 1 s timer, a millisecond or two late each time.
    out.push({ topic: 'zigbee2mqtt/plug', payload: Buffer.from(JSON.stringify(payload)), receivedAt: T0 + t + Math.floor(sec * 1.0017) });
  }
  return out;
}

/** The value, expectation and band a sentence states (`V unit, expected E ± B`), or null when it states no band. */
function statedBand(sentence: string): { value: number; expected: number; band: number } | null {
  const m = /^\S+ (−?\d+(?:\.\d+)?)\b.*?, expected (−?\d+(?:\.\d+)?) ± (\d+(?:\.\d+)?)/.exec(sentence);
  if (m === null) return null;
  const n = (s: string): number => Number(s.replace('−', '-'));
  return { value: n(m[1]), expected: n(m[2]), band: n(m[3]) };
}

describe.skipIf(!builtAndModelsPresent())('a plug switched off for 5 minutes (tryout 23, finding 3)', () => {
  it('is caught, and no alert’s sentence gives as its reason a band that holds its value; a cycle’s open says what the cycle expected', async () => {
    const { det, book } = await shippedDetector(['plug/power=W', 'plug/current=A'], { presets: ['zigbee2mqtt'], timezone: 'UTC' });
    const out: Explained[] = [];
    await feedMessages(det, book, plugMessages(25, 23), out, true);
    const told = out.filter((x) => x.e !== null && x.ev.sensor.startsWith('plug/'));
    const sentences = told.map((x) => `${x.ev.kind} ${x.e!.sentence}`);
    if (process.env.W3_SHOW) console.log(sentences.join('\n'));
    // The switch-off is caught on the current or the power, within the 5 minutes.
    const opens = told.filter((x) => x.ev.kind === 'open' && x.ev.startTs >= T0 + 13 * MIN && x.ev.startTs < T0 + 18 * MIN);
    expect(opens.length, sentences.join('\n')).toBeGreaterThan(0);
    for (const x of told) {
      const b = statedBand(x.e!.sentence);
      if (b === null) continue;
      expect(Math.abs(b.value - b.expected) > b.band, `${x.ev.kind}: ${x.e!.sentence}`).toBe(true);
    }
    // An episode the cycle opened says what the cycle expected at this point, in the stream's own decimals.
    for (const x of told.filter((y) => y.e!.sentence.endsWith('(off the usual cycle)'))) {
      expect(x.e!.sentence, sentences.join('\n')).toMatch(/^plug\/(current \d+\.\d\d A|power \d+\.\d W) since \d\d:\d\d, (usually \d+\.\d+ [AW] at this point of its cycle|within its normal range) \(off the usual cycle\)$/);
    }
    // The value stuck inside its range is told by how long it stayed, as the tryout's update was.
    for (const x of told.filter((y) => y.e!.kind === 'stuck')) expect(x.e!.sentence, sentences.join('\n')).not.toMatch(/, expected 0\.01 ± 0\.01/);
  }, 300_000);
});
