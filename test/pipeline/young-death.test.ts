/**
 * A young stream's death (fewer readings than its interval needs to settle, Cadence.settled: 32), in the shapes
 * real devices show, and a report-on-change sensor's quiet that is no death. Finding (branch youngdeath's brief,
 * after earlydeath): (1) a boot burst (3 readings 1 s apart at power-up, then every 5 min: ESPHome, Tasmota) whose
 * device died in its first readings was never told (the burst's end was a 297-interval hole of a 1 s interval: a
 * quiet of its own, and an arrival that made any silence ordinary: the device was not told dead after 300 reports
 * either); (2) a fine-grained periodic sensor (0.01 °C,
 * never the same value twice) dead before its 32nd reading was never told (no repeated value: its young silence
 * was not judged); (3) a report-on-change sensor whose value moved by more than its reportable change every minute,
 * over more than 16 distinct values, was not taken to send changes only, so its first quiet after 32 readings on time
 * was told as missing data. Each case fails on main ba604a9 (the deaths never told; the quiet told within minutes).
 * The detector the daemon runs (the shipped configuration, no model) in virtual time, judged as the daemon's tick does.
 */
import { describe, expect, it } from 'vitest';
import { BURST_FRACTION, type Detector } from '../../src/pipeline/detector.js';
import { SendOnDelta, SMALL_CHANGE, youngCadence } from '../../src/pipeline/send-on-delta.js';
import { feedExplained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';
import { shippedDetector } from '../helpers/shipped-detector.js';
import { feedTicked, openedAfter } from '../helpers/silence.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
/** The daemon's linkMs at the default keepalive (Daemon.silenceLinkMs: 1.5 × 30 s). */
/** The shipped alert threshold as a surprise (−log10 P): config score.threshold's default. */
const SURPRISE = 5;

/**
 * The missed intervals at which a silence first reaches SURPRISE against k gaps all on time (the uniform prior's
 * predictive, src/pipeline/arrivals.ts: P(X ≥ m) = m! (k + 1)! / (m + k + 1)!).
 */
function missedToTell(k: number): number {
  for (let m = 1; ; m++) {
    let logP = 0;
    for (let j = 1; j <= k + 1; j++) logP += Math.log10(j) - Math.log10(m + j);
    if (-logP >= SURPRISE) return m;
  }
}

/**
 * A silence its arrivals do not judge is told at the young death's span (Detector.youngDeathMs, branch rocdeath:
 * window.learningSilenceMs and LEARNING_SILENCE_GAPS of its longest own gaps, whichever is longer) within one judging
 * `step` after it, or not within `upTo` when the span is longer: `at` is openedAfter's.
 */
function toldAtYoungDeath(det: Detector, stream: string, at: number, upTo: number, step: number): void {
  const dead = det.youngDeathMs(stream);
  if (dead > upTo) {
    expect(at).toBe(-1);
    return;
  }
  expect(at).toBeGreaterThanOrEqual(dead);
  expect(at).toBeLessThanOrEqual(dead + step);
}

/** A room temperature to 0.1 °C (its values repeat often), read at `ts`. */
function roomValue(rnd: () => number): number {
  return Math.round((21 + 0.4 * rnd()) * 10) / 10;
}

/**
 * An ESPHome/Tasmota-style power-up: 3 readings 1 s apart (the boot's first reading sent at once, then as its
 * components come up), then `n` readings every 5 min (±2 s) from 5 min after power-up, 0.1 °C.
 */
function bootBurst(seed: number, n: number): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  const boot = [0, 1, 2].map((k) => ({ ts: T0 + k * SEC, value: roomValue(rnd) }));
  const live = Array.from({ length: n }, (_, i) => ({ ts: T0 + (i + 1) * 5 * MIN + Math.round((rnd() - 0.5) * 4 * SEC), value: roomValue(rnd) }));
  return [...boot, ...live];
}

/**
 * `n` readings every `interval` ms (±10 %) of a fine-grained temperature (0.01 °C: a slow wave and noise of a few
 * hundredths) that never sends the same value twice running (a reading equal to the one before moves by 0.01).
 */
function fineGrained(seed: number, interval: number, n: number): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  let last = Number.NaN;
  return Array.from({ length: n }, (_, i) => {
    let v = Math.round((21 + 0.3 * Math.sin((2 * Math.PI * i) / 40) + 0.08 * (rnd() - 0.5)) * 100) / 100;
    if (v === last) v = Math.round((v + (rnd() < 0.5 ? -0.01 : 0.01)) * 100) / 100;
    last = v;
    return { ts: T0 + i * interval + Math.round((rnd() - 0.5) * 0.2 * interval), value: v };
  });
}

/**
 * A zigbee2mqtt temperature at 0.01 °C resolution sent on a reportable change of 0.1 °C, at most once a minute
 * (its minimum reporting interval), checked every 10 s: a room that warms by about 0.15 °C a minute (with noise)
 * for `n` reports, so each came a minute or a little more after the one before, each a change of 0.1 °C or more,
 * over many distinct values. Its value then settles (no report).
 */
function warmingReports(seed: number, n: number): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  const out: { ts: number; value: number }[] = [];
  let sent = Number.NaN;
  let lastTs = Number.NEGATIVE_INFINITY;
  let t = T0;
  let temp = 18;
  while (out.length < n) {
    temp += 0.025 + 0.02 * (rnd() - 0.5);
    const v = Math.round(temp * 100) / 100;
    if (t - lastTs >= MIN && (Number.isNaN(sent) || Math.abs(v - sent) >= 0.1 - 1e-9)) {
      out.push({ ts: t, value: v });
      sent = v;
      lastTs = t;
    }
    t += 10 * SEC;
  }
  return out;
}

describe('finding 1: a boot burst, then every 5 min', () => {
  it('dead after n = 5 to 12 readings after the burst: told within its own intervals (the uniform predictive of its n gaps, ±15 %) when a value after the burst repeated or moved little, never on main; nothing told while it lives', async () => {
    let told = 0;
    for (let n = 5; n <= 12; n++) {
      for (const seed of [1, 2, 3]) {
        const { det, book } = shippedDetector();
        const readings = bootBurst(seed * 100 + n, n);
        // Ticked every 10 s while it lives (its pauses are no death).
        const out = await feedTicked(det, book, readings, 10 * SEC);
        expect(out).toEqual([]);
        // Judged once a value after the burst repeated (or changed by under half its median change), never without.
        const live = readings.slice(2);
        if (live.some((r, i) => i > 0 && r.value === live[i - 1].value)) expect(det.silenceJudged('s')).toBe(true);
        const at = openedAfter(det, 's', readings[readings.length - 1].ts, 48 * HOUR, MIN);
        if (!det.silenceJudged('s')) {
          toldAtYoungDeath(det, 's', at, 48 * HOUR, MIN);
          continue;
        }
        // n gaps of 5 min after the burst (its end to the first report is one).
        const m = missedToTell(n);
        expect(at).toBeGreaterThan(0.85 * (m + 1) * 5 * MIN);
        expect(at).toBeLessThanOrEqual(1.15 * (m + 1) * 5 * MIN + 5 * MIN);
        told++;
      }
    }
    expect(told).toBeGreaterThan(12);
  });

  it('dead after 40 or 300 reports (its interval settled, the burst in its arrivals): told as the same reports without the burst are, within an interval (never within 48 h on main)', async () => {
    for (const n of [40, 300]) {
      for (const seed of [1, 2]) {
        const readings = bootBurst(seed * 1000 + n, n);
        const told: number[] = [];
        for (const r of [readings, readings.slice(3)]) {
          const { det, book } = shippedDetector();
          await feedExplained(det, book, 's', 'sensors/s', r, []);
          told.push(openedAfter(det, 's', r[r.length - 1].ts, 48 * HOUR, MIN));
        }
        const [withBurst, plain] = told;
        expect(plain).toBeGreaterThan(0);
        expect(withBurst).toBeGreaterThan(0);
        expect(Math.abs(withBurst - plain)).toBeLessThanOrEqual(5 * MIN);
      }
    }
  });

  it('dead after its 7th reading (the burst and 4 reports): fewer than YOUNG_GAPS gaps of its own, not judged (as a plain 5-reading stream is not)', async () => {
    const { det, book } = shippedDetector();
    const readings = bootBurst(7, 4);
    await feedTicked(det, book, readings, 10 * SEC);
    expect(det.silenceJudged('s')).toBe(false);
    toldAtYoungDeath(det, 's', openedAfter(det, 's', readings[6].ts, 48 * HOUR, 10 * MIN), 48 * HOUR, 10 * MIN);
  });
});

describe('finding 2: a fine-grained periodic sensor that never repeats a value', () => {
  for (const interval of [MIN, 5 * MIN]) {
    it(`read every ${interval / SEC} s at 0.01 °C, dead after 10 readings: told within 8 to 14 of its intervals (never on main)`, async () => {
      let told = 0;
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const { det, book } = shippedDetector();
        const readings = fineGrained(seed, interval, 10);
        expect(readings.some((r, i) => i > 0 && r.value === readings[i - 1].value)).toBe(false);
        const out = await feedTicked(det, book, readings, interval / 10);
        expect(out).toEqual([]);
        expect(det.changesOnly('s')).toBe(false);
        if (!det.silenceJudged('s')) continue;
        const at = openedAfter(det, 's', readings[9].ts, 40 * interval, interval / 10);
        // 9 gaps on time: P(X ≥ m) falls below 1e-5 at m = 10 missed (11 intervals), jitter aside.
        expect(at).toBeGreaterThan(8 * interval);
        expect(at).toBeLessThanOrEqual(14 * interval);
        told++;
      }
      // Its changes reach down to a few hundredths, under half its usual change, in most of the 9 pairs.
      expect(told).toBeGreaterThanOrEqual(5);
    });
  }

  it('dead after 20 readings (1 min): told in 5 to 10 min of silence, every seed', async () => {
    for (const seed of [11, 12, 13, 14, 15]) {
      const { det, book } = shippedDetector();
      const readings = fineGrained(seed, MIN, 20);
      await feedTicked(det, book, readings, 6 * SEC);
      expect(det.silenceJudged('s')).toBe(true);
      const at = openedAfter(det, 's', readings[19].ts, HOUR, 10 * SEC);
      expect(at).toBeGreaterThan(0.85 * (missedToTell(19) + 1) * MIN);
      expect(at).toBeLessThanOrEqual(1.15 * (missedToTell(19) + 1) * MIN + MIN);
    }
  });
});

describe('finding 3: a report-on-change sensor over more than 16 values, no repeat', () => {
  it('40 reports a minute apart (0.1 °C reportable change, 0.01 °C resolution) then an hour settled: taken to send changes only, not told (told within minutes on main)', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { det, book } = shippedDetector();
      const readings = warmingReports(seed, 40);
      expect(new Set(readings.map((r) => r.value)).size).toBeGreaterThan(16);
      const out = await feedTicked(det, book, readings, 10 * SEC);
      expect(out).toEqual([]);
      expect(det.changesOnly('s')).toBe(true);
      expect(det.silenceJudged('s')).toBe(false);
      expect(openedAfter(det, 's', readings[39].ts, HOUR, 10 * SEC)).toBe(-1);
    }
  });

  it('12 reports then an hour settled (young: no repeat, no change under half its usual): not judged, not told', async () => {
    for (const seed of [6, 7, 8]) {
      const { det, book } = shippedDetector();
      const readings = warmingReports(seed, 12);
      await feedTicked(det, book, readings, 10 * SEC);
      expect(det.silenceJudged('s')).toBe(false);
      expect(openedAfter(det, 's', readings[11].ts, HOUR, 10 * SEC)).toBe(-1);
    }
  });
});

describe('the young pace and the small-change test (src/pipeline/send-on-delta.ts)', () => {
  it('youngCadence drops a power-up burst, not a sleepy device\'s wake bursts nor a periodic stream\'s early report', () => {
    const boot = youngCadence([1000, 1000, 298_000, 301_000, 299_000, 300_000], BURST_FRACTION);
    expect([boot.burst, boot.gaps, boot.holes, Array.from(boot.arrivals)]).toEqual([2, 4, 0, [4, 0, 0]]);
    expect(boot.intervalMs).toBe(299_500);
    // A device that wakes every 10 min and sends 3 readings a second apart: its wakes are its pace, none dropped.
    const sleepy = youngCadence([1000, 1000, 598_000, 1000, 1000, 598_000, 1000, 1000], BURST_FRACTION);
    expect(sleepy.burst).toBe(0);
    expect(sleepy.intervalMs).toBe(1000);
    expect(sleepy.holes).toBe(2);
    // A first report 40 s after power-up, then every minute: 40 s is no burst (more than a quarter of a minute).
    expect(youngCadence([40_000, 60_000, 61_000, 59_000, 60_000], BURST_FRACTION).burst).toBe(0);
    // A missed report after the burst is a hole at its own pace.
    const missed = youngCadence([1000, 1000, 300_000, 600_000, 300_000, 300_000], BURST_FRACTION);
    expect([missed.burst, missed.holes, missed.mostMissed]).toEqual([2, 1, 1]);
  });

  it(`changesOnly from (1 − (min(s, 1) / 2)^C)^n ≤ 1 %, s the least change over its median (youngdeath3's floor test; youngdeath's s = ${SMALL_CHANGE}); a change under ${SMALL_CHANGE} of the median is periodic evidence; the state round-trips`, () => {
    const t = new SendOnDelta();
    // A change of 0.10 to 0.14 each time (a floor), 17 values and more: the levels test no longer holds.
    let v = 20;
    t.observe([v]);
    for (let i = 1; i <= 8; i++) {
      t.gap(60_000);
      t.observe([(v = Math.round((v + 0.1 + 0.01 * (i % 5)) * 100) / 100)]);
    }
    // 8 pairs, the least change 0.10 of a median 0.12 (s = 5/6): (1 − 5/12)^8 = 1.3 % > 1 %; 9 pairs: 0.78 %.
    expect(t.changesOnly).toBe(false);
    t.gap(60_000);
    t.observe([(v = Math.round((v + 0.14) * 100) / 100)]);
    expect(t.changesOnly).toBe(true);
    expect(t.periodicAfter(0)).toBe(false);
    const back = SendOnDelta.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(back.changesOnly).toBe(true);
    expect(back.cadence(BURST_FRACTION).gaps).toBe(9);
    // A change of 0.01 (under half the median, about 0.12): periodic reporting; s = 1/12 over 10 pairs: 65 %, not taken.
    t.gap(60_000);
    t.observe([v + 0.01]);
    expect(t.changesOnly).toBe(false);
    expect(t.periodicAfter(0)).toBe(true);
    expect(t.periodicAfter(10)).toBe(false);
    expect(() => SendOnDelta.fromJSON({ pairs: 1, levels: [], gaps: [0] })).toThrow();
    expect(() => SendOnDelta.fromJSON({ pairs: 1, levels: [], changes: [[-1]] })).toThrow();
    expect(() => SendOnDelta.fromJSON({ pairs: 1, levels: [], smallAt: 1.5 })).toThrow();
    // A state written before the gaps were kept restores without them (not judged young until it shows more).
    expect(SendOnDelta.fromJSON({ pairs: 3, levels: ['1', '2'], repeated: true }).periodicAfter(0)).toBe(true);
  });
});
