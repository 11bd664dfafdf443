/**
 * Issue 3's training goal: one channel, a day of 1 Hz readings (86,400 rows), default options, one core.
 * Figures only, no assertions. Run: `node dist/bench/train-day.js [gru|lstm ...]`.
 */
import { pathToFileURL } from 'node:url';
import type { CellKind } from '../model/spec.js';
import { mulberry32 } from '../train/rng.js';
import { trainModel } from '../train/trainer.js';

export const DAY_ROWS = 86_400;

/** A day at 1 Hz: a daily cycle, a faster ripple, a slow drift and sensor noise. */
export function syntheticDay(rows: number = DAY_ROWS, seed = 1): Float64Array {
  const rng = mulberry32(seed);
  const v = new Float64Array(rows);
  for (let t = 0; t < rows; t++) {
    const daily = 5 * Math.sin((2 * Math.PI * t) / DAY_ROWS - Math.PI / 2);
    const ripple = 0.8 * Math.sin((2 * Math.PI * t) / 900);
    const drift = (0.5 * t) / DAY_ROWS;
    v[t] = 20 + daily + ripple + drift + 0.3 * (rng() + rng() + rng() - 1.5);
  }
  return v;
}

export interface TrainDayResult {
  readonly cell: CellKind;
  readonly seconds: number;
  /** CPU seconds of this process: less sensitive than wall time to other load on a shared machine. */
  readonly cpuSeconds: number;
  readonly epochs: number;
  readonly secondsPerEpoch: number;
  readonly bestEpoch: number;
  readonly finalValLoss: number;
  readonly trainWindows: number;
}

export async function benchTrainDay(cells: readonly CellKind[] = ['gru', 'lstm']): Promise<TrainDayResult[]> {
  const values = syntheticDay();
  const out: TrainDayResult[] = [];
  for (const cell of cells) {
    const cpu0 = process.cpuUsage();
    const r = trainModel({ channels: ['temp'], values }, { cell });
    const cpu = process.cpuUsage(cpu0);
    const train = r.losses.reduce((s, l) => s + l.ms, 0) / 1000;
    out.push({
      cell,
      seconds: r.training.seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      epochs: r.losses.length,
      secondsPerEpoch: train / r.losses.length,
      bestEpoch: r.bestEpoch,
      finalValLoss: r.training.finalValLoss,
      trainWindows: r.training.trainWindows,
    });
    // Let the event loop breathe between long synchronous runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2).filter((a): a is CellKind => a === 'gru' || a === 'lstm');
  const results = await benchTrainDay(args.length > 0 ? args : undefined);
  for (const r of results) console.log(JSON.stringify(r));
}
