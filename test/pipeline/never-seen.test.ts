/**
 * A value a discrete channel has never taken (docs/SCORING.md, "A value never seen"): a state or code channel that
 * took two levels for thousands of readings and then takes a third, beyond its levels by their whole width, is an
 * anomaly at its first reading (MSL T-4: a 1 on a channel of −1 and 0, 4 readings, missed before: its `level` 5.5
 * less the Bonferroni share of the kinds that spoke stayed below the threshold). Through the detector the daemon runs
 * (shipped config and model). A quantised temperature that reaches a new high one step at a time is not.
 */
import { describe, expect, it } from 'vitest';
import { ValueHistogram } from '../../src/pipeline/rarity.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 11, 1);
const SEC = 1000;

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** A two-state channel (−1 and 0, dwells of 4 to 40 readings), with `code` at readings [from, to). */
function states(n: number, seed: number, code: { from: number; to: number; value: number } | null): { ts: number; value: number }[] {
  const rnd = lcg(seed);
  let v = -1;
  let left = 0;
  return Array.from({ length: n }, (_, i) => {
    if (left-- <= 0) {
      v = v === -1 ? 0 : -1;
      left = 4 + Math.floor(rnd() * 36);
    }
    return { ts: T0 + i * SEC, value: code !== null && i >= code.from && i < code.to ? code.value : v };
  });
}

describe('ValueHistogram.novel: a value a discrete channel has never taken', () => {
  const filled = (values: readonly number[], n: number): ValueHistogram => {
    const h = new ValueHistogram(10_000, 0);
    for (let i = 0; i < n; i++) h.add(values[i % values.length], 0.5);
    return h;
  };

  it('is beyond the levels by their whole width, after minSeen values, on 2 to LEVELS_MAX levels', () => {
    const h = filled([-1, 0], 300);
    expect(h.novel(1, 256)).toBe(true);
    expect(h.novel(-2, 256)).toBe(true);
    expect(h.novel(0.9, 256)).toBe(false);
    expect(h.novel(0.5, 256)).toBe(false);
    expect(h.novel(1, 301)).toBe(false);
    expect(filled([-1], 300).novel(5, 256)).toBe(false);
    expect(filled([0, 1, 2, 3, 4, 5, 6, 7, 8], 300).novel(100, 256)).toBe(false);
    // decimals: 0.3 is 0.1 beyond 0.2 (levels 0.1 and 0.2), though 0.2 + 0.1 > 0.3 in floating point
    expect(filled([0.1, 0.2], 300).novel(0.3, 256)).toBe(true);
  });

  it('is news once: a level seen (sawLevel) is a level the channel takes; the levels survive a checkpoint', () => {
    const h = filled([-1, 0], 300);
    h.sawLevel(1);
    expect(h.novel(1, 256)).toBe(false);
    expect(h.novel(3, 256)).toBe(true);
    const back = ValueHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())), 10_000, 0);
    expect(back.novel(1, 256)).toBe(false);
    expect(back.novel(3, 256)).toBe(true);
    const { levels: _levels, ...before } = h.toJSON();
    expect(ValueHistogram.fromJSON(before, 10_000, 0).novel(3, 256)).toBe(false);
    h.clear();
    expect(h.novel(3, 0)).toBe(false);
  });
});

describe.skipIf(!builtAndModelsPresent())('a value never seen, through the shipped detector', () => {
  it('a third value on a two-state channel opens an episode at its first reading', async () => {
    const { det, book } = await shippedDetector();
    const out: Explained[] = [];
    await feedExplained(det, book, 'state', 'sensors/state', states(3000, 3, { from: 2500, to: 2504, value: 1 }), out);
    const opens = out.filter((x) => x.ev.kind === 'open');
    expect(opens.map((x) => x.ev.startTs)).toEqual([T0 + 2500 * SEC]);
  });

  it('the same channel without it opens nothing', async () => {
    const { det, book } = await shippedDetector();
    const out: Explained[] = [];
    await feedExplained(det, book, 'state', 'sensors/state', states(3000, 3, null), out);
    expect(out.filter((x) => x.ev.kind === 'open').map((x) => x.e?.sentence ?? null)).toEqual([]);
  });

  it('a quantised temperature that reaches new highs one step at a time opens nothing', async () => {
    const rnd = lcg(7);
    const gauss = (): number => {
      let u = 0;
      while (!u) u = rnd();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
    };
    // 20 °C and a slow climb of 3 °C over the 4,000 readings (a warming week), noise 0.1, reported to 0.5 °C.
    const rows = Array.from({ length: 4000 }, (_, i) => ({ ts: T0 + i * 60 * SEC, value: Math.round((20 + (3 * i) / 4000 + 0.1 * gauss()) * 2) / 2 }));
    const { det, book } = await shippedDetector();
    const out: Explained[] = [];
    await feedExplained(det, book, 'room', 'sensors/room', rows, out);
    expect(out.filter((x) => x.ev.kind === 'open').map((x) => x.e?.sentence ?? null)).toEqual([]);
  });
});
