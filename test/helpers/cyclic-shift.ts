/**
 * A lasting level shift on a cyclic stream, through the detector the daemon runs (runReplay, as `anomalyd replay`
 * without --learn-first, the shipped configuration and model): the signal and the check shared by
 * test/replay/cyclic-shift-resolve.test.ts and test/replay/long-cycle-shift.test.ts.
 */
import type { Config } from '../../src/config/schema.js';
import { shortSpan } from '../../src/pipeline/scorer.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { normal } from '../pipeline/detector-helpers.js';
import { alarmedRows, replayShipped } from './replay-shipped.js';

/** The cycle and the shift: 60 + 5 sin(2π k / period) + N(0, 0.3), + `shift` from each onset for good. */
export interface CyclicShift {
  readonly sensor: string;
  /** Readings a cycle. */
  readonly period: number;
  /** Sensor units added from the onset on. */
  readonly shift: number;
  /** Onsets (readings): first, first + step, …, `onsets` of them; one more stream has none. */
  readonly first: number;
  readonly step: number;
  readonly onsets: number;
}

/** One file: column j < onsets shifted from row first + step · j to the end, the last column never. */
export function cyclicShiftRows(s: CyclicShift, seed: number, rowCount: number, intervalMs: number): { rows: ReplayRow[]; onsets: number[] } {
  const onsets = Array.from({ length: s.onsets }, (_, j) => s.first + s.step * j);
  const channels = [...onsets.map((k) => `k${k}`), 'none'];
  const draws = channels.map((_, j) => normal(seed * 1000 + j));
  const t0 = Date.UTC(2026, 0, 1);
  const rows: ReplayRow[] = [];
  for (let i = 0; i < rowCount; i++) {
    const values = channels.map((_, j) => 60 + 5 * Math.sin((2 * Math.PI * i) / s.period) + 0.3 * draws[j]() + (j < s.onsets && i >= onsets[j] ? s.shift : 0));
    rows.push({ sensor: s.sensor, ts: t0 + i * intervalMs, channels, values });
  }
  return { rows, onsets };
}

/**
 * Replays the shift's file (until `alerts.newNormalAfter` + 50 readings after the last onset) and returns what went
 * wrong, one line per onset: not alarmed within `shortSpan(score.smooth)` readings of its onset, alarmed before it,
 * or resolved before the new normal (its `newNormalAfter`-th reading); and the rows the fault-free stream alarmed.
 * `dirs` collects the temporary directory for the caller to remove.
 */
export async function cyclicShiftFailures(s: CyclicShift, config: Config, seed: number, intervalMs: number, dirs: string[]): Promise<{ failures: string[]; clean: number[]; rows: number; outputs: number }> {
  const keep = config.alerts.newNormalAfter;
  const { rows, onsets } = cyclicShiftRows(s, seed, s.first + s.step * (s.onsets - 1) + keep + 50, intervalMs);
  const out = await replayShipped(config, rows, dirs);
  const by = alarmedRows(out, s.onsets + 1);
  const late = shortSpan(config.score.smooth);
  const failures: string[] = [];
  onsets.forEach((k, j) => {
    if (by[j].some((i) => i < k)) failures.push(`onset ${k}: alarmed before it, from ${by[j][0]}`);
    const on = by[j].filter((i) => i >= k);
    const start = on.length > 0 ? on[0] : -1;
    // The first row after start that is not alarmed: where the episode resolved.
    let end = start;
    while (end - start < on.length && on[end - start] === end) end++;
    // An episode resolves as the new normal at its newNormalAfter-th reading (not alarmed from then on).
    const ok = start >= k && start <= k + late && end - start >= keep - 1;
    if (!ok) failures.push(`onset ${k} (phase ${(k % s.period) / s.period}): ${start < 0 ? 'never alarmed' : `alarmed from ${start}, resolved at ${end} (value ${rows[end]?.values[j].toFixed(2)})`}`);
  });
  return { failures, clean: by[s.onsets], rows: rows.length, outputs: out.length };
}
