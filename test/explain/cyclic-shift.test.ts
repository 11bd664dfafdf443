/**
 * The kind of a cyclic stream's fault, through the detector the daemon runs (the shipped configuration and the
 * shipped GRU model, on this thread) and the SignalBook that explains its episodes, retold after every reading as
 * the daemon's touchOpenEpisodes retells an open episode with no kind yet.
 *
 * Tryout 10, finding 3: a sine 20 ± 5 (period 120 readings, noise 0.2, one reading a minute) shifted +4 for 100
 * readings (up to 29.2, above every normal reading) was told `24.1 kPa, expected 19.5 ± 0.9 at 11:33 (spike)`
 * though no reading came back near the cycle: its later readings were "back" against the flat level before the
 * episode (the median of its last 8 readings), which the cycle itself crosses.
 */
import { describe, expect, it } from 'vitest';
import type { AlertExplanation } from '../../src/contract/alerts.js';
import type { AnomalyEvent } from '../../src/contract/types.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const MIN = 60_000;

/** The tryout's generator (tools/pub.mjs --kind sine --seed 71): 20 + 5 sin(2π n / 120) + 0.2 N(0, 1), 4 decimals. */
function sine(count: number, fault: (n: number) => number): number[] {
  let s = 71;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  return Array.from({ length: count }, (_, n) => Math.round((20 + 5 * Math.sin((2 * Math.PI * n) / 120) + 0.2 * gauss() + fault(n)) * 10000) / 10000);
}

type Out = { ev: AnomalyEvent; e: AlertExplanation | null };

/** Feeds the readings (one a minute) to a fresh detector and book; every event explained, open episodes retold after each reading. */
async function run(values: readonly number[]): Promise<Out[]> {
  const { det, book } = await shippedDetector();
  const out: Out[] = [];
  await feedExplained(det, book, 'minute1', 'sensors/minute1', values.map((value, i) => ({ ts: T0 + i * MIN, value })), out, true);
  return out;
}

/** The events of the episode that opened at reading `at` or later. */
function episodeFrom(out: readonly Out[], at: number): Out[] {
  const open = out.find((x) => x.ev.kind === 'open' && x.ev.startTs >= T0 + (at - 3) * MIN);
  expect(open, 'an episode opens at the fault').toBeDefined();
  return out.filter((x) => x.ev.anomalyId === open!.ev.anomalyId);
}

describe.skipIf(!builtAndModelsPresent())('a cyclic sensor with the shipped model', () => {
  it('a lasting +4 shift (no reading back near the cycle) is told a level shift, never a spike', async () => {
    const values = sine(1300, (n) => (n >= 1200 ? 4 : 0));
    const episode = episodeFrom(await run(values), 1200);
    const kinds = episode.map((x) => x.e?.kind ?? null);
    expect(kinds).not.toContain('spike');
    const told = episode.filter((x) => x.e?.kind === 'level_shift');
    expect(told.length, 'the shift is told').toBeGreaterThan(0);
    // Told within a few readings of the shift, against the level before it (where the cycle stood just before).
    expect((told[0].ev.endTs - T0) / MIN).toBeLessThan(1210);
    expect(told[0].e!.basis).toBe('baseline');
    expect(told[0].e!.sentence).toMatch(/ since 06:00 \(level shift\)$/);
  }, 120_000);

  it('a one-reading +4 spike on the same cycle is still a spike', async () => {
    const values = sine(1300, (n) => (n === 1200 ? 4 : 0));
    const episode = episodeFrom(await run(values), 1200);
    const last = episode[episode.length - 1];
    expect(last.e!.kind).toBe('spike');
    expect(last.e!.value).toBeCloseTo(values[1200], 4);
  }, 120_000);
});
