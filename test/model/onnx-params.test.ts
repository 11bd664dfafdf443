import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeModel } from '../../src/model/onnx-export.js';
import { readModelParams, readSeq2SeqParams } from '../../src/model/onnx-params.js';
import { PARAM_NAMES } from '../../src/train/seq2seq.js';
import { randomParams, sidecarInput } from './fixtures.js';

describe('readModelParams', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'anomalyd-params-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const cell of ['gru', 'lstm'] as const) {
    it(`reads back exactly the ${cell} weights writeModel wrote (every array, the transposed readout included)`, async () => {
      const p = randomParams(cell, 2, 5, 7);
      const { sidecarPath } = await writeModel(dir, sidecarInput(p, 'm', 12), p);
      const back = readModelParams(sidecarPath);
      expect({ cell: back.cell, channels: back.channels, hidden: back.hidden }).toEqual({ cell, channels: 2, hidden: 5 });
      for (const name of PARAM_NAMES) expect(Array.from(back[name]), name).toEqual(Array.from(p[name]));
    });
  }

  it('reads the shipped models', () => {
    for (const cell of ['gru', 'lstm']) {
      const p = readModelParams(new URL(`../../models/${cell}.json`, import.meta.url).pathname);
      expect(p.cell).toBe(cell);
      expect(p.encR.length).toBe((cell === 'gru' ? 3 : 4) * p.hidden * p.hidden);
      expect(Array.from(p.predW).every(Number.isFinite)).toBe(true);
    }
  });

  it('says which initialiser is missing or of the wrong size', async () => {
    const p = randomParams('gru', 1, 4, 3);
    const { onnxPath } = await writeModel(dir, sidecarInput(p, 'm', 12), p);
    expect(() => readSeq2SeqParams(onnxPath, { cell: 'gru', channels: 1, hidden: 5 })).toThrow(/enc_B has 24 values, expected 30/);
    expect(() => readSeq2SeqParams(new Uint8Array(0), { cell: 'gru', channels: 1, hidden: 4 })).toThrow(/no initialiser enc_B/);
  });
});
