/**
 * What a silence is told, through the detector the daemon runs (the shipped configuration and the shipped GRU
 * model, on this thread) and the SignalBook that explains its episodes. A noisy stream that says nothing for
 * longer than `window.resetAfter` of its intervals opens an episode at its first reading after the silence
 * (`stuck` judges the silence on its own, docs/SCORING.md), for the silence, ending at that reading; that
 * episode is told `missing_data` from the readings' times.
 */
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { feedExplained, shippedDetector, type Explained } from '../helpers/explained.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const MIN = 60_000;
const NORMAL = 3000;
/** Intervals without a reading after reading NORMAL - 1 (more than resetAfter, 64). */
const SILENT = 300;

describe.skipIf(!builtAndModelsPresent())('a silence of a noisy stream, with the shipped model', () => {
  it('opens at the first reading after it and is told missing data', async () => {
    const { det, book } = await shippedDetector();
    let s = 5;
    const rnd = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const readings = Array.from({ length: NORMAL + 40 }, (_, i) => ({ ts: T0 + (i < NORMAL ? i : i + SILENT) * MIN, value: Math.round((20 + gauss()) * 1000) / 1000 }));
    const out: Explained[] = [];
    await feedExplained(det, book, 'cpu', 'sensors/cpu', readings, out);
    const opens = out.filter((x) => x.ev.kind === 'open');
    // From its first missed reading to the reading that ended it (tryout 15, finding 9: `LASTED 0s` beside `no
    // reading for 26 s`), resolved once closeAfter readings are below, its end that reading.
    expect(opens.map((x) => [x.ev.startTs, x.ev.endTs])).toEqual([[readings[NORMAL - 1].ts + MIN, readings[NORMAL].ts]]);
    expect(opens[0].e!.kind).toBe('missing_data');
    expect(opens[0].e!.sentence).toMatch(/^cpu no reading for 5 h /);
    expect(out.filter((x) => x.ev.kind === 'resolve').map((x) => [x.ev.anomalyId, x.ev.endTs])).toEqual([[opens[0].ev.anomalyId, readings[NORMAL].ts]]);
  }, 120_000);
});
