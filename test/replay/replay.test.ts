import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import type { Config } from '../../src/config/schema.js';
import type { LoadedModel } from '../../src/contract/ports.js';
import { evalConfig } from '../../src/eval/evaluate.js';
import { writeModel } from '../../src/model/onnx-export.js';
import type { CellKind } from '../../src/model/spec.js';
import { learnSeries } from '../../src/replay/learn.js';
import { Replayer, type ReplayOutput, type ReplayRow, type ReplaySnapshot } from '../../src/replay/replay.js';
import { createReplayStages } from '../../src/replay/stages.js';
import { randomParams, sidecarInput } from '../model/fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const CHANNELS = Object.freeze(['ch0', 'ch1']);

/** Small windows and a short warm-up so that a few hundred rows get past learning and open episodes. */
const CONFIG: Config = evalConfig({
  window: { length: 16, hop: 4, intervalMs: 1000 },
  model: { normWarmup: 32, maxBatch: 64 },
  score: { priorWeight: 0, threshold: 0.99 },
  alerts: { openAfter: 2, closeAfter: 2, cooldownMs: 0 },
});

/** Two sensors, interleaved; each has a smooth normal signal with a burst of large noise in the middle. */
function stream(n: number): ReplayRow[] {
  const rows: ReplayRow[] = [];
  for (let i = 0; i < n; i++) {
    for (const [k, sensor] of ['a', 'b'].entries()) {
      const burst = i > n * 0.6 && i < n * 0.7 ? 8 * Math.sin(i * 12.9898 + k) : 0;
      const base = Math.sin(i / (7 + k)) + 0.1 * Math.sin(i * 1.7);
      rows.push({ sensor, ts: T0 + i * 1000, channels: CHANNELS, values: [base + burst, 0.5 * base - burst + k] });
    }
  }
  return rows;
}

let dir: string;
const models = new Map<CellKind, LoadedModel>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalyd-replay-test-'));
  for (const cell of ['gru', 'lstm'] as const) {
    const p = randomParams(cell, 2, 8, 11);
    const { sidecarPath } = await writeModel(dir, sidecarInput(p, `fixture-${cell}`, 16), p);
    models.set(cell, await loadModel(sidecarPath));
  }
});

afterAll(async () => {
  for (const m of models.values()) await m.release();
  await rm(dir, { recursive: true, force: true });
});

function replayer(cell: CellKind, batchWindows = 32, learnRows = 0, config: Config = CONFIG): Replayer {
  const model = models.get(cell)!;
  return new Replayer(createReplayStages(config, () => model, [model]), { batchWindows, learnRows });
}

async function replayAll(r: Replayer, rows: readonly ReplayRow[]): Promise<ReplayOutput[]> {
  const out: ReplayOutput[] = [];
  await r.run(rows, (o) => out.push(o));
  return out;
}

const essence = (o: ReplayOutput): [number, string, number, string, boolean] => [o.index, o.row.sensor, o.score, o.status, o.anomaly];

describe('Replayer', () => {
  const rows = stream(300);

  it('gives one output per row, in order, and gets past learning to open episodes', async () => {
    const out = await replayAll(replayer('gru'), rows);
    expect(out.map((o) => o.index)).toEqual(rows.map((_, i) => i));
    expect(out.every((o, i) => o.row === rows[i])).toBe(true);
    expect(out.every((o) => o.score >= 0 && o.score <= 1)).toBe(true);
    expect(out.some((o) => o.status === 'ok')).toBe(true);
    expect(out.some((o) => o.anomaly)).toBe(true);
    // Episodes open in the burst, not before it (the score history there is all normal).
    const firstAnomaly = out.find((o) => o.anomaly)!;
    expect(firstAnomaly.row.ts).toBeGreaterThan(T0 + 300 * 0.6 * 1000);
  });

  it('uses no look-ahead: a prefix replayed alone scores its rows exactly as the whole stream does', async () => {
    const whole = (await replayAll(replayer('gru'), rows)).map(essence);
    for (const k of [57, 200, 421]) {
      const prefix = (await replayAll(replayer('gru'), rows.slice(0, k))).map(essence);
      expect(prefix).toEqual(whole.slice(0, k));
    }
  });

  it("changes a row's score only at rows that complete a window of its sensor", async () => {
    const out = await replayAll(replayer('gru'), rows);
    const a = out.filter((o) => o.row.sensor === 'a');
    for (let i = 1; i < a.length; i++) {
      // hop 4 with a fixed interval: sensor a's windows complete at its rows 3, 7, 11, ...
      if (a[i].score !== a[i - 1].score) expect(i % 4).toBe(3);
    }
  });

  it('does not depend on how windows are batched', async () => {
    const base = (await replayAll(replayer('gru', 1), rows)).map(essence);
    expect((await replayAll(replayer('gru', 7), rows)).map(essence)).toEqual(base);
    expect((await replayAll(replayer('gru', 1000), rows)).map(essence)).toEqual(base);
  });

  it('reports rows before learnRows as learning with score 0, and replays them all the same', async () => {
    const whole = await replayAll(replayer('gru'), rows);
    const learnt = await replayAll(replayer('gru', 32, 300), rows);
    expect(learnt.slice(0, 300).every((o) => o.score === 0 && o.status === 'learning' && !o.anomaly)).toBe(true);
    expect(learnt.slice(300).map(essence)).toEqual(whole.slice(300).map(essence));
  });

  /** Replays with a restart after row k: drain, snapshot through JSON, fresh stages, restore, go on. */
  async function interrupted(cell: CellKind, k: number, config: Config = CONFIG): Promise<ReplayOutput[]> {
    const before = replayer(cell, 32, 0, config);
    const out: ReplayOutput[] = [];
    for (const row of rows.slice(0, k)) out.push(...(await before.push(row)));
    const { outputs, snapshot } = await before.snapshot();
    out.push(...outputs);
    // Through JSON, as a checkpoint in SQLite would be; then entirely fresh stages.
    const restored = JSON.parse(JSON.stringify(snapshot)) as ReplaySnapshot;
    const after = replayer(cell, 32, 0, config);
    expect(after.restore(restored)).toEqual([]);
    await after.run(rows.slice(k), (o) => out.push(o));
    return out;
  }

  it.each(['gru', 'lstm'] as const)('scores a stream interrupted by a restart exactly as the uninterrupted stream (%s)', async (cell) => {
    const whole = (await replayAll(replayer(cell), rows)).map(essence);
    expect(whole.some((o) => o[4])).toBe(true);
    // Before warm-up, while learning, just before and inside the burst (episode open), after it.
    for (const k of [5, 90, 250, 380, 400, 520]) expect((await interrupted(cell, k)).map(essence)).toEqual(whole);
  });

  // The engine snapshot carries the previous window's next-reading prediction, so this holds with it too.
  it('scores a restarted stream the same with the prediction error in the score (score.mode both)', async () => {
    const both: Config = { ...CONFIG, score: { ...CONFIG.score, mode: 'both' } };
    const whole = (await replayAll(replayer('gru', 32, 0, both), rows)).map(essence);
    for (const k of [250, 400]) expect((await interrupted('gru', k, both)).map(essence)).toEqual(whole);
  });
});

describe('learnSeries', () => {
  it('takes only each sensor’s rows among the first N, skipping rows with non-finite values', () => {
    const rows: ReplayRow[] = [
      { sensor: 'a', ts: T0, channels: CHANNELS, values: [1, 2] },
      { sensor: 'b', ts: T0, channels: CHANNELS, values: [3, 4] },
      { sensor: 'a', ts: T0 + 1, channels: CHANNELS, values: [Number.NaN, 6] },
      { sensor: 'a', ts: T0 + 2, channels: CHANNELS, values: [7, 8] },
      { sensor: 'b', ts: T0 + 3, channels: CHANNELS, values: [9, 10] },
    ];
    const series = learnSeries(rows, 4);
    expect([...series.keys()]).toEqual(['a', 'b']);
    expect(Array.from(series.get('a')!.values)).toEqual([1, 2, 7, 8]);
    expect(Array.from(series.get('b')!.values)).toEqual([3, 4]);
    expect(series.get('a')!.channels).toEqual(CHANNELS);
  });
});
