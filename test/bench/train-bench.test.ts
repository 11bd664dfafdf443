import { expect, it } from 'vitest';
import { benchTraining } from '../../src/bench/train-bench.js';

it('benchTraining reports one row of finite figures per cell and channel count', async () => {
  const rows = await benchTraining({ trainWindows: 40, window: 8, hidden: 3, epochs: 1, channels: [1, 2] });
  expect(rows.map((r) => [r.cellLstm, r.channels])).toEqual([[0, 1], [0, 2], [1, 1], [1, 2]]);
  for (const r of rows) {
    expect(r.trainWindows).toBe(40);
    expect(Object.values(r).every((v) => Number.isFinite(v))).toBe(true);
  }
});
