/**
 * A lasting level shift on a cycle longer than the finest cycle finder's 1,024 readings (a day read every 10 s, 30 s
 * or 60 s: 8,640, 2,880, 1,440 readings) stays alarmed until the new-normal rule, whatever the phase it starts at.
 * Through the detector the daemon runs (runReplay, as `anomalyd replay` without --learn-first), with the shipped
 * configuration and the shipped model.
 *
 * The signal: 60 + 5 sin(2π k / 4000) + N(0, 0.3), +3 (ten noise widths, below the cycle's amplitude) from its onset
 * for good. Before the coarser levels of the cycle finder (src/pipeline/cycle.ts) no period was found, and the shift
 * was seen as a step only: `change` opened the episode and it resolved "recovered" `alerts.closeAfter` readings
 * later (scripts/longcycle.mjs, BENCHMARKS.md). The period is found on block means of 16 readings, from two periods
 * held (about reading 8,200); the onsets sweep a period from reading 9,000 at different phases, each its own stream
 * (one column of one replay); one stream has no fault and must raise nothing. Counted in readings: run at 10 s.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { modelSidecarPath } from '../../src/daemon.js';
import { shortSpan } from '../../src/pipeline/scorer.js';
import type { ReplayOutput, ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';
import { normal } from '../pipeline/detector-helpers.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

const PERIOD = 4000;
/** Onsets: FIRST, FIRST + STEP, …: five of them, over one period at different phases. */
const FIRST = 9000;
const STEP = 900;
const ONSETS = 5;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One file: column j < ONSETS shifted +3 from row FIRST + STEP · j to the end, the last column never. */
function signal(seed: number, rowCount: number, intervalMs: number): { rows: ReplayRow[]; onsets: number[] } {
  const onsets = Array.from({ length: ONSETS }, (_, j) => FIRST + STEP * j);
  const channels = [...onsets.map((k) => `k${k}`), 'none'];
  const draws = channels.map((_, j) => normal(seed * 1000 + j));
  const t0 = Date.UTC(2026, 0, 1);
  const rows: ReplayRow[] = [];
  for (let i = 0; i < rowCount; i++) {
    const values = channels.map((_, j) => 60 + 5 * Math.sin((2 * Math.PI * i) / PERIOD) + 0.3 * draws[j]() + (j < ONSETS && i >= onsets[j] ? 3 : 0));
    rows.push({ sensor: 'room', ts: t0 + i * intervalMs, channels, values });
  }
  return { rows, onsets };
}

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a lasting level shift on a cycle of 4,000 readings (shipped configuration and model)', () => {
  it('+3 on 60 + 5 sin(2π k / 4000) + N(0, 0.3), 10 s apart: alarmed at its onset at every phase and open until the new normal, never "recovered" while it lasts; the stream without it raises nothing', async () => {
    const config = shippedConfig();
    const keep = config.alerts.newNormalAfter;
    const { rows, onsets } = signal(1, FIRST + STEP * (ONSETS - 1) + keep + 50, 10_000);
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-long-cycle-'));
    dirs.push(dir);
    const out: ReplayOutput[] = [];
    await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir }, (o) => out.push(o));
    expect(out.length).toBe(rows.length);
    const by: number[][] = Array.from({ length: ONSETS + 1 }, () => []);
    out.forEach((o, i) => {
      for (const c of o.anomalousChannels) by[c].push(i);
    });
    const late = shortSpan(config.score.smooth);
    const failures: string[] = [];
    onsets.forEach((k, j) => {
      const on = by[j].filter((i) => i >= k);
      const start = on.length > 0 ? on[0] : -1;
      let end = start;
      while (end - start < on.length && on[end - start] === end) end++;
      const ok = start >= k && start <= k + late && end - start >= keep - 1;
      if (!ok) failures.push(`onset ${k} (phase ${(k % PERIOD) / PERIOD}): ${start < 0 ? 'never alarmed' : `alarmed from ${start}, resolved at ${end}`}`);
      // Nothing before the onset.
      if (by[j].some((i) => i < k)) failures.push(`onset ${k}: alarmed before it, from ${by[j][0]}`);
    });
    expect(failures).toEqual([]);
    expect(by[ONSETS]).toEqual([]);
  }, 300_000);
});
