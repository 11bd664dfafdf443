/**
 * A Tasmota plug's energy counter (`ENERGY.Total`, kWh to 3 decimals, a counter its hub states: the tasmota preset)
 * judged by what is anomalous in a meter, not by its total (tryout 31: an iron's plug, 0.4 W idle, 1,000 to 2,000 W a
 * few minutes three times a day). On main its normal use was told on the total: `10.002 kWh … within its normal range
 * (sudden change)` when an idle hold of 2.5 h ended by 0.001 kWh, `(unusual noise level)` after a use, and in the
 * tryout `drifting up … above anything seen (drift)` and `unchanged for 90 min (stuck value)`. Through the detector
 * the daemon runs (shipped config and GRU, the tasmota preset), at 10 s and at 60 s: three days of use open nothing
 * on the total after its learning period; a reset is told once; a load drawing far more than the plug has ever
 * counted at is told on the total (its rate), once, in its rate's words.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedMessages, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 1);
const DAY = 86_400_000;
const HOUR = 3_600_000;
const TOTAL = 'iron/ENERGY.Total';

interface Plan {
  readonly seed: number;
  /** Between readings (ms). */
  readonly stepMs: number;
  readonly days: number;
  /** At this time (ms since the epoch) the plug's total is reset to 0 (Tasmota's `EnergyReset3 0`), counting on from there. */
  readonly resetAt?: number;
  /** In [from, to) the plug draws `watts` (a fault). */
  readonly fault?: { readonly from: number; readonly to: number; readonly watts: number };
}

/**
 * The plug's tele/iron/SENSOR messages, one a reading as Tasmota sends them: used three times a day (about 08:00,
 * 13:00 and 19:00, 4 to 8 minutes, its thermostat cycling between about 1,100 W and 300 W), idle at 0.4 ± 0.05 W
 * otherwise (its total holding one value for hours), the total from 10 kWh; with the plan's reset or fault. Returns
 * the messages and the totals sent.
 */
function iron(plan: Plan): { messages: { topic: string; payload: Buffer; receivedAt: number }[]; totals: number[] } {
  const u = lcg(plan.seed);
  const gauss = (): number => {
    let s = 0;
    for (let i = 0; i < 6; i++) s += u();
    return s - 3;
  };
  const uses: [number, number][] = [];
  for (let d = 0; d < plan.days; d++) for (const h of [8, 13, 19]) uses.push([T0 + d * DAY + h * HOUR + Math.floor(u() * 3600) * 1000, (4 + Math.floor(u() * 5)) * 60_000]);
  let total = 10;
  const messages: { topic: string; payload: Buffer; receivedAt: number }[] = [];
  const totals: number[] = [];
  for (let t = T0; t < T0 + plan.days * DAY; t += plan.stepMs) {
    const on = uses.some(([s, d]) => s <= t && t < s + d);
    let watts = on ? (Math.floor(t / 30_000) % 3 !== 0 ? 1100 + gauss() * 15 : 300 + gauss() * 10) : Math.max(0, 0.4 + gauss() * 0.05);
    if (plan.fault !== undefined && plan.fault.from <= t && t < plan.fault.to) watts = plan.fault.watts + gauss() * 15;
    if (plan.resetAt !== undefined && t === plan.resetAt) total = 0;
    else total += (watts * plan.stepMs) / HOUR / 1000;
    const value = Math.round(total * 1000) / 1000;
    totals.push(value);
    const ENERGY = { Total: value, Power: Math.round(watts), Voltage: 230, Current: Math.round((watts / 230) * 1000) / 1000 };
    messages.push({ topic: 'tele/iron/SENSOR', payload: Buffer.from(JSON.stringify({ Time: new Date(t).toISOString().slice(0, 19), ENERGY })), receivedAt: t });
  }
  return { messages, totals };
}

async function run(plan: Plan): Promise<{ out: Explained[]; totals: number[]; last: number | undefined }> {
  const { det, book } = await shippedDetector(['*Total=kWh', '*Power=W'], { presets: ['tasmota'], timezone: 'UTC' });
  const { messages, totals } = iron(plan);
  const out: Explained[] = [];
  await feedMessages(det, book, messages, out);
  return { out, totals, last: book.latest(TOTAL)?.ts };
}

/** The total's episodes opened at or after `from` (ms): [start, kind, sentence]. */
const opened = (out: readonly Explained[], from: number): [number, string | null, string | null][] =>
  out.filter((x) => x.ev.kind === 'open' && x.ev.sensor === TOTAL && x.ev.startTs >= from).map((x) => [x.ev.startTs, x.e?.kind ?? null, x.e?.sentence ?? null]);

describe.skipIf(!builtAndModelsPresent())('a Tasmota plug’s energy counter is judged by its rate, not its total (tryout 31)', () => {
  // Learning: the shipped learnReadings (256) readings, 43 min at 10 s, 4.3 h at 60 s; judged from 06:00 on day 1.
  const judged = T0 + 6 * HOUR;

  it.each([
    [10_000, 1],
    [10_000, 2],
    [60_000, 1],
    [60_000, 3],
  ])('three days of use (readings %i ms apart, seed %i) open nothing on the total', async (stepMs, seed) => {
    const plan = { seed, stepMs, days: 3 };
    const { out, totals, last } = await run(plan);
    // Scored to the end (not vacuous), and the plug did count: three uses a day and holds of hours.
    expect(last).toBe(T0 + 3 * DAY - stepMs);
    expect(totals[totals.length - 1] - totals[0]).toBeGreaterThan(0.2);
    expect(opened(out, judged)).toEqual([]);
  }, 120_000);

  it.each([10_000, 60_000])('a reset to 0 on day 2 (readings %i ms apart) is told once, as a counter reset', async (stepMs) => {
    const resetAt = T0 + DAY + 15 * HOUR + 7 * 60_000;
    const { out, totals } = await run({ seed: 4, stepMs, days: 3, resetAt });
    const i = (resetAt - T0) / stepMs;
    expect(totals[i]).toBe(0);
    expect(opened(out, judged)).toEqual([[resetAt, 'counter_reset', `${TOTAL} went back from ${totals[i - 1].toFixed(3)} to 0.000 kWh at 15:07 (counter reset); counted on from there`]]);
  }, 120_000);

  // Its rate is judged once it has counted at its usual rate for 64 readings (scorer.ts judgeCounter): at 10 s within
  // its first two days, at 60 s (four or five readings at 1,100 W a use) within a week.
  it.each([
    [10_000, 3],
    [60_000, 7],
  ])('a load of 3,000 W for 20 minutes on its last day (readings %i ms apart, %i days), far above anything the plug counted at, is told once on the total', async (stepMs, days) => {
    const from = T0 + (days - 1) * DAY + 16 * HOUR;
    const { out } = await run({ seed: 5, stepMs, days, fault: { from, to: from + 20 * 60_000, watts: 3000 } });
    const told = opened(out, judged);
    expect(told).toHaveLength(1);
    // Within a few readings of its start (its rate is timed over 8 of the meter's 0.001 kWh: three readings at 10 s).
    expect(told[0][0]).toBeGreaterThanOrEqual(from);
    expect(told[0][0]).toBeLessThanOrEqual(from + 3 * stepMs);
    // Told by its rate (kWh per hour: the load's kW, within the meter's 0.001 kWh quanta over the readings timed),
    // beside the fastest the iron had counted at (its 1,100 W), not by its total above anything seen.
    const words = /^iron\/ENERGY\.Total [\d.]+ kWh, counting ([\d.]+) kWh\/h since 16:00, at most ([\d.]+) kWh\/h before \(counting fast\)$/.exec(told[0][2] ?? '');
    expect(words, told[0][2] ?? '').not.toBeNull();
    // Its kind is stored with it (operatorview: null before, KIND `-` beside a sentence saying counting fast).
    expect(told[0][1]).toBe('counting_fast');
    expect(Math.abs(Number(words?.[1]) - 3)).toBeLessThan(0.4);
    expect(Number(words?.[2])).toBeGreaterThan(1);
    expect(Number(words?.[2])).toBeLessThan(1.5);
  }, 120_000);
});
