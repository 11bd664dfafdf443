import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { writeModel } from '../../src/model/onnx-export.js';
import { familyReport, familyReportTable, paramsScorer, runnerScorer } from '../../src/train/family-report.js';
import { mulberry32 } from '../../src/train/rng.js';
import { familySeries, gaussian, normalFamily, QUANTA, SIGNAL_KINDS, synthesiseSegment } from '../../src/train/synthetic.js';
import { sidecarOf, trainModel } from '../../src/train/trainer.js';

const small = { seed: 5, perKind: 3, minRows: 200, maxRows: 400 };

describe('normalFamily', () => {
  it('is pure: the same options give the same values, another seed others', () => {
    const a = normalFamily(small);
    const b = normalFamily(small);
    const c = normalFamily({ ...small, seed: 6 });
    expect(a.map((s) => Array.from(s.values))).toEqual(b.map((s) => Array.from(s.values)));
    expect(a.map((s) => s.description)).toEqual(b.map((s) => s.description));
    expect(a.map((s) => Array.from(s.values))).not.toEqual(c.map((s) => Array.from(s.values)));
  });

  it('has perKind segments of every kind, each of a length in range and every value finite', () => {
    const f = normalFamily(small);
    expect(f).toHaveLength(SIGNAL_KINDS.length * 3);
    for (const kind of SIGNAL_KINDS) expect(f.filter((s) => s.kind === kind)).toHaveLength(3);
    for (const s of f) {
      expect(s.values.length).toBeGreaterThanOrEqual(200);
      expect(s.values.length).toBeLessThanOrEqual(400);
      expect(s.values.every(Number.isFinite)).toBe(true);
    }
  });

  it('draws each kind with its defining property', () => {
    const rng = mulberry32(11);
    for (let k = 0; k < 20; k++) {
      const onoff = synthesiseSegment('onoff', 500, rng);
      expect(new Set(onoff.values).size).toBeLessThanOrEqual(2);
      expect(Array.from(onoff.values).every((v) => v === 0 || v === 1)).toBe(true);
      const counter = synthesiseSegment('counter', 500, rng);
      const drops = Array.from(counter.values).filter((v, t) => t > 0 && v < counter.values[t - 1]).length;
      // Non-decreasing, except for at most three roll-overs.
      expect(drops).toBeLessThanOrEqual(3);
      expect(counter.quantum).toBeNull();
    }
  });

  it('rounds a share of the segments to a sensor resolution, leaving several steps across the signal', () => {
    const f = normalFamily({ ...small, perKind: 12, quantisedFraction: 0.5 });
    const quantised = f.filter((s) => s.quantum !== null);
    // On/off and counters keep their exact values; of the other 60 segments about half (binomial sd 0.065).
    const eligible = f.filter((s) => s.kind !== 'onoff' && s.kind !== 'counter');
    expect(quantised.every((s) => eligible.includes(s))).toBe(true);
    expect(quantised.length / eligible.length).toBeGreaterThan(0.25);
    expect(quantised.length / eligible.length).toBeLessThan(0.75);
    expect(new Set(quantised.map((s) => s.quantum))).toEqual(new Set(QUANTA));
    for (const s of quantised) {
      const q = s.quantum!;
      for (const v of s.values) expect(Math.abs(v / q - Math.round(v / q))).toBeLessThan(1e-6);
      expect(new Set(s.values).size).toBeGreaterThanOrEqual(2);
    }
    expect(normalFamily({ ...small, quantisedFraction: 0 }).every((s) => s.quantum === null)).toBe(true);
  });

  it('spans many scales and noise levels before standardisation', () => {
    const f = normalFamily({ ...small, perKind: 10 });
    const spreads = f.filter((s) => s.kind === 'cycle').map((s) => Math.max(...s.values) - Math.min(...s.values));
    expect(Math.max(...spreads) / Math.min(...spreads)).toBeGreaterThan(100);
  });

  it('rejects impossible options', () => {
    expect(() => normalFamily({ ...small, perKind: 0 })).toThrow(/perKind/);
    expect(() => normalFamily({ ...small, minRows: 10, maxRows: 5 })).toThrow(/minRows/);
  });

  it('gaussian draws have mean 0 and variance 1', () => {
    const rng = mulberry32(3);
    const xs = Array.from({ length: 20_000 }, () => gaussian(rng));
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
  });
});

describe('familySeries', () => {
  it('standardises every segment on its own and keeps it as its own segment', () => {
    const { series, family } = familySeries(small);
    expect(series.segments).toHaveLength(family.length);
    const bounds = [...Array.from(series.segments!), series.values.length];
    for (let k = 0; k < family.length; k++) {
      const seg = series.values.subarray(bounds[k], bounds[k + 1]);
      expect(seg.length).toBe(family[k].values.length);
      const m = seg.reduce((a, b) => a + b, 0) / seg.length;
      const sd = Math.sqrt(seg.reduce((a, b) => a + (b - m) ** 2, 0) / seg.length);
      expect(Math.abs(m)).toBeLessThan(1e-9);
      // A flat segment (an on/off that never switched) stays at 0.
      if (sd > 0) expect(sd).toBeCloseTo(1, 9);
    }
  });
});

describe('familyReport', () => {
  const { series } = familySeries({ seed: 7, perKind: 2, minRows: 300, maxRows: 300 });
  const opts = { cell: 'gru' as const, hidden: 8, window: 16, hop: 4, batchSize: 16, seed: 1, patience: 10 };
  const trained = trainModel(series, { ...opts, epochs: 6 });
  const reportOpts = { seed: 8, perKind: 2, rows: 300, window: 16, hop: 4 };

  it('reports every kind, and a trained model beats an untrained one on the family', async () => {
    const barely = trainModel(series, { ...opts, epochs: 1, lr: 1e-5 });
    const report = (r: typeof trained) => familyReport(paramsScorer(r.params, 16, 4), r.normalisation, r.calibration, reportOpts);
    const a = await report(trained);
    const b = await report(barely);
    expect(a.map((r) => r.kind)).toEqual([...SIGNAL_KINDS]);
    for (const r of a) {
      expect(r.segments).toBe(2);
      for (const v of [r.falsePredRate, r.falseReconRate, r.spikeDetected, r.shiftDetected]) expect(v >= 0 && v <= 1).toBe(true);
    }
    const median = (rs: typeof a): number => rs.map((r) => r.predMedian).sort((x, y) => x - y)[3];
    expect(median(a)).toBeLessThan(median(b));
    const table = familyReportTable(a);
    expect(table.split('\n')).toHaveLength(2 + SIGNAL_KINDS.length);
    expect(table).toContain('| onoff | 2 |');
  });

  it('scores the same through the written graphs in onnxruntime as with the TypeScript reference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-family-'));
    try {
      const { sidecarPath } = await writeModel(dir, sidecarOf('fam', trained), trained.params);
      const model = await loadModel(sidecarPath);
      try {
        const rng = mulberry32(4);
        const streams = [0, 1, 2].map(() => Float64Array.from({ length: 70 }, () => gaussian(rng)));
        const viaOnnx = await runnerScorer(model, 16, 4)(streams);
        const viaTs = await paramsScorer(trained.params, 16, 4)(streams);
        viaTs.forEach((want, b) => {
          expect(viaOnnx[b].predErrors).toHaveLength(69);
          expect(viaOnnx[b].reconErrors).toHaveLength(want.reconErrors.length);
          want.predErrors.forEach((e, t) => expect(Math.abs(viaOnnx[b].predErrors[t] - e)).toBeLessThan(1e-4 * Math.max(1, e)));
          want.reconErrors.forEach((e, k) => expect(Math.abs(viaOnnx[b].reconErrors[k] - e)).toBeLessThan(1e-4 * Math.max(1, e)));
        });
      } finally {
        await model.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
