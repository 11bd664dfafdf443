/**
 * Runs synthetic series through the real detector core (parser, cadence, step engine, scorer) without a
 * model, the way replay does, and returns one output per reading. For the scorer's behaviour tests.
 */
import { Subject } from 'rxjs';
import { Detector, type DetectorOptions, type DetectorOutput } from '../../src/pipeline/detector.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import type { ScorerOptions } from '../../src/pipeline/scorer.js';
import { payloadOf } from '../../src/replay/drive.js';
import { mulberry32 } from '../../src/train/rng.js';

export type ReadingOutput = Extract<DetectorOutput, { type: 'reading' }>;

export const TEST_SCORER: ScorerOptions = {
  mode: 'both',
  threshold: 0.9999,
  holdMargin: 0.5,
  openAfter: 1,
  closeAfter: 16,
  newNormalAfter: 0,
  learnReadings: 64,
  horizon: 5000,
  adaptiveHorizon: 500,
  smooth: 16,
  reconEvery: 8,
};

export function detectorOptions(scorer: Partial<ScorerOptions> = {}): DetectorOptions {
  return {
    cadence: { intervalMs: 0, resetAfter: 64 },
    engine: { hop: 8, length: 32, maxBatch: 64, normWarmup: 32, normHorizon: 20000, batchTickMs: 0 },
    scorer: { ...TEST_SCORER, ...scorer },
  };
}

/**
 * Scores `rows` (one array of channel values per reading, one reading per `intervalMs`) on one stream;
 * rows [0, knownNormal) are known normal. Returns the reading outputs in order. `step(i)`: the grid step row i
 * is read at (default i; a jump leaves steps without readings, a silence).
 */
export async function detect(
  rows: readonly (readonly number[])[],
  opts: { scorer?: Partial<ScorerOptions>; knownNormal?: number; intervalMs?: number; step?: (i: number) => number } = {},
): Promise<ReadingOutput[]> {
  const channels = rows[0].length === 1 ? ['value'] : rows[0].map((_, c) => `c${c}`);
  const parser = new MessageParser({ sensorOf: (t) => t, objects: 'channels', maxPayloadBytes: 1 << 20, maxFutureMs: 1e15, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10000, longBurst: 'split', window: 32 });
  let ids = 0;
  const known = opts.knownNormal ?? 0;
  const det = new Detector(detectorOptions(opts.scorer), {
    parser,
    modelFor: () => null,
    priorsFor: () => null,
    newId: () => `e${++ids}`,
    learning: (_stream, o) => o.seq < known,
  });
  const out: ReadingOutput[] = [];
  const input = new Subject<{ topic: string; payload: Buffer; receivedAt: number; seq: number }>();
  const done = new Promise<void>((resolve, reject) => {
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type === 'reading') out.push(o);
        else if (o.type === 'error') reject(new Error(o.detail));
      },
      error: reject,
      complete: resolve,
    });
  });
  const step = opts.intervalMs ?? 1000;
  const t0 = Date.UTC(2026, 0, 1);
  rows.forEach((values, i) => {
    const ts = t0 + (opts.step?.(i) ?? i) * step;
    input.next({ topic: 's', payload: payloadOf({ sensor: 's', ts, channels, values }), receivedAt: ts, seq: i });
  });
  input.complete();
  await done;
  return out;
}

/** Seeded standard normal draws. */
export function normal(seed: number): () => number {
  const u = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Indices of readings whose episode is open (status anomalous). */
export function alarmed(out: readonly ReadingOutput[]): number[] {
  return out.flatMap((o, i) => (o.reading.status === 'anomalous' ? [i] : []));
}
