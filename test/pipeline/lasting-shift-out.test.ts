/**
 * What an open episode lets the stream learn (docs/SCORING.md section 5): only readings back after a fault that
 * ended. A level shift that lasts on a cyclic signal, larger than the cycle's swing, is beyond the normal range at
 * the cycle's peaks and, judged by `level` against the running normalisation (whose spread is the cycle's), just
 * within the hold level at its troughs, on the fault's own side of the mean: those readings are the fault, not the
 * normal signal back. They must not teach the running normalisation nor restart the model while the episode is open
 * (branch hold2: from 36 readings into a +8 shift on a ±2 cycle of 40 readings its troughs, at z +3.9 against the
 * fault's +5, were taken for the return; test/daemon/checkpoint-format.test.ts, whose stream b is this signal, then
 * went on differently from main's checkpoint). The shipped configuration, model-free, as that test's detector.
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/schema.js';
import type { RawMessage } from '../../src/contract/types.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { MessageParser } from '../../src/pipeline/parse.js';

const T0 = Date.UTC(2026, 0, 1);
const ONSET = 520;
const END = 900;

/** The shipped config's detector, model-free. */
function newDetector(): Detector {
  const cfg = defaultConfig();
  let ids = 0;
  return new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
}

/** Reading i: 20 + 2 sin(2πi / period) + U(−0.15, 0.15) (a linear congruential draw from `seed`), + `shift` from ONSET on. */
function signal(seed: number, period: number, shift: number): number[] {
  let s = seed;
  const rnd = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  return Array.from({ length: END }, (_, i) => Number((20 + 2 * Math.sin((2 * Math.PI * i) / period) + 0.3 * (rnd() - 0.5) + (i >= ONSET ? shift : 0)).toFixed(4)));
}

/** Feeds readings [from, to) of `values` to stream `s` (one a second). */
async function feed(d: Detector, values: readonly number[], from: number, to: number): Promise<void> {
  const input = new Subject<RawMessage>();
  const done = new Promise<void>((resolve, reject) => input.pipe(d.operator()).subscribe({ error: reject, complete: resolve }));
  for (let i = from; i < to; i++) {
    const ts = T0 + i * 1000;
    input.next({ topic: 'sensors/s', payload: Buffer.from(`{"ts":${ts},"value":${values[i]}}`), receivedAt: ts + 5 });
  }
  input.complete();
  await done;
}

const normCount = (d: Detector): number => (d.snapshot('s').engine as { normCount: number }).normCount;

describe('a lasting level shift on a cycle teaches the normalisation nothing while its episode is open (only readings back after a fault that ended do)', () => {
  for (const [period, shift, seed] of [[40, 8, 11], [40, 8, 5], [40, 10, 11], [64, 8, 11], [64, 9, 3]] as const) {
    it(`period ${period} readings, ±2, +${shift} from reading ${ONSET} to ${END} (seed ${seed})`, async () => {
      const values = signal(seed, period, shift);
      const d = newDetector();
      await feed(d, values, 0, ONSET);
      expect(d.openAnomaly('s'), 'no episode before the shift').toBeNull();
      await feed(d, values, ONSET, ONSET + 1);
      const episode = d.openAnomaly('s');
      const before = normCount(d);
      expect(episode, 'the shift opens an episode').not.toBeNull();
      // The readings taught while the episode is open (the normalisation's count grew at them).
      const taught: number[] = [];
      let count = before;
      for (let i = ONSET + 1; i < END && d.openAnomaly('s') === episode; i++) {
        await feed(d, values, i, i + 1);
        if (d.openAnomaly('s') === episode && normCount(d) !== count) taught.push(i);
        count = normCount(d);
      }
      expect(d.openAnomaly('s'), 'the episode is open to the end').toBe(episode);
      expect(taught, 'readings of the open episode taught to the normalisation').toEqual([]);
    }, 120_000);
  }
});
