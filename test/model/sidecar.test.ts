import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeModel } from '../../src/model/onnx-export.js';
import { findModels, loadSidecar, parseSidecar, SidecarError } from '../../src/model/sidecar.js';
import { randomParams, sidecarInput } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-sidecar-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function validSidecar(): Record<string, unknown> {
  return {
    format: 'anomalyd-model',
    formatVersion: 2,
    anomalydVersion: '0.1.0',
    createdAt: '2026-01-02T03:04:05.000Z',
    graphs: { window: 'm.onnx', step: 'm.step.onnx', decode: 'm.decode.onnx' },
    ...sidecarInput(randomParams('gru', 2, 4, 1), 'm', 16),
  };
}

function issuesOf(value: unknown): readonly string[] {
  try {
    parseSidecar(value, 'x.json');
  } catch (err) {
    if (err instanceof SidecarError) return err.issues;
    throw err;
  }
  return [];
}

describe('parseSidecar', () => {
  it('accepts a valid sidecar and returns its fields', () => {
    const s = parseSidecar(validSidecar(), 'x.json');
    expect(s.cell).toBe('gru');
    expect(s.channels).toEqual(['ch0', 'ch1']);
    expect(s.calibration.recon.quantiles).toEqual({ p50: -3, p99: -1.4 });
    expect(s.calibration.pred.logErrMean).toBe(-2.5);
    expect(s.hop).toBe(4);
    expect(s.graphs.step).toBe('m.step.onnx');
  });

  // Finding `biasprior` (thirty-fourth session): bias's prior is optional, so sidecars written before it still load.
  it('reads calibration.bias when present (with its span), and a sidecar without it as before', () => {
    expect(parseSidecar(validSidecar(), 'x.json').calibration.bias).toBeUndefined();
    const v = validSidecar();
    const bias = { logErrMean: -9, logErrStd: 2, quantiles: { p50: -9 }, count: 65, span: 16 };
    (v.calibration as Record<string, unknown>).bias = bias;
    expect(parseSidecar(v, 'x.json').calibration.bias).toEqual(bias);
    (v.calibration as Record<string, unknown>).bias = { ...bias, span: 0 };
    expect(issuesOf(v)).toEqual([expect.stringMatching(/^calibration\.bias\.span: /)]);
  });

  it('refuses a formatVersion 1 sidecar with one message: re-train', () => {
    const { graphs: _graphs, ...rest } = validSidecar();
    const v1 = { ...rest, formatVersion: 1, onnx: 'm.onnx', calibration: { logErrMean: -3, logErrStd: 0.5, threshold: 0.99, quantiles: {} } };
    expect(issuesOf(v1)).toEqual([expect.stringMatching(/^formatVersion: 1 is an older model format .*re-train the model \(`anomalyd train`/)]);
    expect(() => parseSidecar(v1, 'models/old.json')).toThrow(/^models\/old\.json: /);
  });

  it('reports every problem at once as path: message', () => {
    const v = validSidecar();
    v.cell = 'rnn';
    v.hidden = 0;
    v.normalisation = { mean: [0], std: [1, -1] };
    (v.calibration as Record<string, unknown>).threshold = 1.5;
    (v.training as Record<string, unknown>).epochs = 2.5;
    const issues = issuesOf(v);
    expect(issues).toHaveLength(6);
    expect(issues).toEqual(expect.arrayContaining([
      expect.stringMatching(/^cell: /),
      expect.stringMatching(/^hidden: /),
      expect.stringMatching(/^normalisation\.mean: must have 2 entries/),
      expect.stringMatching(/^normalisation\.std\[1\]: must be > 0/),
      expect.stringMatching(/^calibration\.threshold: must be in \(0, 1\)/),
      expect.stringMatching(/^training\.epochs: /),
    ]));
  });

  it.each([
    ['format', 'something-else', /^format: /],
    ['formatVersion', 3, /^formatVersion: /],
    ['hop', 0, /^hop: /],
    ['graphs', { window: 'm.onnx', step: '../x.onnx', decode: 'm.decode.onnx' }, /^graphs\.step: /],
    ['graphs', { window: 'm.onnx', step: 'm.step.onnx' }, /^graphs\.decode: /],
    ['channels', [], /^channels: /],
    ['channels', ['a', 'a'], /^channels: names must be unique/],
    ['window', -4, /^window: /],
    ['createdAt', 'yesterday', /^createdAt: /],
    ['graphs', { window: '../elsewhere.onnx', step: 'm.step.onnx', decode: 'm.decode.onnx' }, /^graphs\.window: /],
    ['calibration', null, /^calibration: must be an object/],
    ['training', { source: 'x' }, /^training\.rows: /],
  ])('rejects a bad %s', (key, value, pattern) => {
    const issues = issuesOf({ ...validSidecar(), [key]: value });
    expect(issues.some((i) => pattern.test(i))).toBe(true);
  });

  it('rejects NaN-like and infinite numbers', () => {
    const v = validSidecar();
    ((v.calibration as Record<string, unknown>).pred as Record<string, unknown>).logErrMean = null;
    expect(issuesOf(v)).toEqual(['calibration.pred.logErrMean: must be a finite number']);
  });
});

describe('loadSidecar', () => {
  it('names the file and the JSON error for unparseable files', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{ nope');
    expect(() => loadSidecar(path)).toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid model sidecar`));
  });

  it('reads what writeModel wrote', async () => {
    const p = randomParams('lstm', 3, 5, 2);
    const { sidecarPath } = await writeModel(dir, sidecarInput(p, 'pump-1', 32), p);
    const s = loadSidecar(sidecarPath);
    expect(s).toMatchObject({
      name: 'pump-1', cell: 'lstm', hidden: 5, window: 32, hop: 8, format: 'anomalyd-model', formatVersion: 2,
      graphs: { window: 'pump-1.onnx', step: 'pump-1.step.onnx', decode: 'pump-1.decode.onnx' },
    });
  });
});

describe('findModels', () => {
  it('lists valid models by name and reports broken ones without hiding the good ones', async () => {
    const p = randomParams('gru', 1, 4, 3);
    await writeModel(dir, sidecarInput(p, 'zeta', 8), p);
    await writeModel(dir, sidecarInput(p, 'alpha', 8), p);
    const orphan = await writeModel(dir, sidecarInput(p, 'orphan', 8), p);
    rmSync(orphan.graphPaths.step);
    writeFileSync(join(dir, 'broken.json'), JSON.stringify({ ...validSidecar(), hidden: 'many' }));
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ unrelated: true }));
    writeFileSync(join(dir, 'garbled.json'), '{');

    const { models, problems } = findModels(dir);
    expect(models.map((m) => m.sidecar.name)).toEqual(['alpha', 'zeta']);
    expect(models[0].onnxPath).toBe(join(dir, 'alpha.onnx'));
    expect(problems.map((x) => x.path).sort()).toEqual(['broken.json', 'garbled.json', 'orphan.json'].map((f) => join(dir, f)));
    expect(problems.find((x) => x.path.endsWith('broken.json'))?.message).toMatch(/hidden: /);
    expect(problems.find((x) => x.path.endsWith('orphan.json'))?.message).toMatch(/graphs\.step: .*orphan\.step\.onnx does not exist/);
  });

  it('reports a missing directory as a problem', () => {
    const { models, problems } = findModels(join(dir, 'absent'));
    expect(models).toEqual([]);
    expect(problems).toHaveLength(1);
  });
});
