import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import type { LoadedModel, WindowModelRunner } from '../../src/contract/ports.js';
import { writeModel } from '../../src/model/onnx-export.js';
import type { CellKind } from '../../src/model/spec.js';
import { mulberry32 } from '../../src/train/rng.js';
import { forwardWindow } from '../../src/train/seq2seq.js';
import { maxAbsDiff, pack, randomParams, sidecarInput, uniform, unpackRow, type Row } from '../model/fixtures.js';

const C = 2;
const H = 6;
const T = 10;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-runner-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function rows(cell: CellKind, seed: number, shapes: readonly (readonly [number, number])[]): Row[] {
  const rng = mulberry32(seed);
  return shapes.map(([L, carry]) => ({
    x: uniform(rng, T * C, 1.2), L, carry,
    h0: uniform(rng, H, 0.5),
    c0: cell === 'lstm' ? uniform(rng, H, 0.5) : null,
  }));
}

describe.each<CellKind>(['gru', 'lstm'])('loadModel: the window graph (%s)', (cell) => {
  const params = randomParams(cell, C, H, cell === 'gru' ? 31 : 32);
  let model: LoadedModel;
  let sidecarPath: string;
  beforeAll(async () => {
    ({ sidecarPath } = await writeModel(dir, sidecarInput(params, `m-${cell}`, T), params));
    model = await loadModel(sidecarPath);
  });
  afterAll(async () => {
    await model.release();
  });

  it('implements the window port with the sidecar and a name@hash id', () => {
    const runner: WindowModelRunner = model;
    expect(runner.sidecar.name).toBe(`m-${cell}`);
    expect(runner.sidecar.cell).toBe(cell);
    expect(runner.id).toMatch(new RegExp(`^m-${cell}@[0-9a-f]{12}$`));
  });

  it('returns outputs of the documented shapes, matching the reference per row', async () => {
    const rs = rows(cell, 1, [[T, 3], [4, 4], [1, 1]]);
    const batch = pack(rs, T, C, H);
    const out = await model.runBatch(batch);
    expect(out.recon.length).toBe(T * rs.length * C);
    expect(out.pred.length).toBe(rs.length * C);
    expect(out.hCarry.length).toBe(rs.length * H);
    expect(out.cCarry?.length).toBe(cell === 'lstm' ? rs.length * H : undefined);
    rs.forEach((r, b) => {
      const want = forwardWindow(params, r.x, T, r.L, r.carry, r.h0, r.c0);
      expect(maxAbsDiff(unpackRow(out.recon, T, rs.length, C, b), want.recon, r.L * C)).toBeLessThan(1e-4);
      expect(maxAbsDiff(out.pred.subarray(b * C, (b + 1) * C), want.pred)).toBeLessThan(1e-4);
      expect(maxAbsDiff(out.hCarry.subarray(b * H, (b + 1) * H), want.hCarry)).toBeLessThan(1e-4);
      if (want.cCarry !== null) expect(maxAbsDiff(out.cCarry!.subarray(b * H, (b + 1) * H), want.cCarry)).toBeLessThan(1e-4);
    });
  });

  it('reads inputs that are subarrays of larger preallocated buffers, at any offset', async () => {
    const rs = rows(cell, 2, [[T, 2], [7, 5]]);
    const batch = pack(rs, T, C, H);
    const direct = await model.runBatch(batch);
    const embed = <A extends Float32Array | BigInt64Array>(a: A, make: (n: number) => A): A => {
      const big = make(a.length + 13);
      big.fill(a instanceof BigInt64Array ? (7n as never) : (99 as never));
      big.set(a as never, 5);
      return big.subarray(5, 5 + a.length) as A;
    };
    const f32 = (n: number): Float32Array => new Float32Array(n);
    const i64 = (n: number): BigInt64Array => new BigInt64Array(n);
    const viaViews = await model.runBatch({
      ...batch,
      x: embed(batch.x, f32),
      seqLens: embed(batch.seqLens, i64),
      carryLens: embed(batch.carryLens, i64),
      h0: embed(batch.h0, f32),
      ...(batch.c0 ? { c0: embed(batch.c0, f32) } : {}),
    });
    expect(Array.from(viaViews.recon)).toEqual(Array.from(direct.recon));
    expect(Array.from(viaViews.hCarry)).toEqual(Array.from(direct.hCarry));
  });

  it('gives the caller outputs that later calls do not overwrite', async () => {
    const [a, b] = [pack(rows(cell, 3, [[T, T]]), T, C, H), pack(rows(cell, 4, [[T, T]]), T, C, H)];
    const first = await model.runBatch(a);
    const saved = Array.from(first.recon);
    await model.runBatch(b);
    expect(Array.from(first.recon)).toEqual(saved);
  });

  it('rejects malformed batches with a message naming the problem', async () => {
    const good = pack(rows(cell, 5, [[T, 2], [5, 3]]), T, C, H);
    await expect(model.runBatch({ ...good, B: 3 })).rejects.toThrow(/seqLens has 2 entries, expected B = 3/);
    await expect(model.runBatch({ ...good, x: good.x.subarray(1) })).rejects.toThrow(/x has/);
    await expect(model.runBatch({ ...good, seqLens: BigInt64Array.of(BigInt(T + 1), 5n) })).rejects.toThrow(/seqLens\[0\] = 11 outside 1\.\.10/);
    await expect(model.runBatch({ ...good, carryLens: BigInt64Array.of(2n, 6n) })).rejects.toThrow(/carryLens\[1\] = 6 outside 1\.\.seqLens\[1\] = 5/);
    await expect(model.runBatch({ ...good, carryLens: BigInt64Array.of(0n, 1n) })).rejects.toThrow(/carryLens\[0\] = 0/);
    if (cell === 'lstm') await expect(model.runBatch({ ...good, c0: undefined })).rejects.toThrow(/c0 must have/);
  });

  it('changes id when the model content changes', async () => {
    const other = randomParams(cell, C, H, 99);
    const sub = mkdtempSync(join(dir, 'other-'));
    const written = await writeModel(sub, sidecarInput(other, `m-${cell}`, T), other);
    const m2 = await loadModel(written.sidecarPath);
    expect(m2.id).not.toBe(model.id);
    expect(m2.id.startsWith(`m-${cell}@`)).toBe(true);
    await m2.release();
  });
});

describe('loadModel', () => {
  it('refuses a sidecar whose graph is of another cell or size', async () => {
    const gru = randomParams('gru', C, H, 41);
    const sub = mkdtempSync(join(dir, 'mismatch-'));
    const { sidecarPath } = await writeModel(sub, sidecarInput(gru, 'x', T), gru);
    const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
    writeFileSync(sidecarPath, JSON.stringify({ ...sidecar, cell: 'lstm' }));
    await expect(loadModel(sidecarPath)).rejects.toThrow(/does not match a lstm model/);
    writeFileSync(sidecarPath, JSON.stringify({ ...sidecar, hidden: H + 2 }));
    await expect(loadModel(sidecarPath)).rejects.toThrow(/sidecar says C=2, H=8/);
  });

  it('refuses an invalid sidecar before touching the graph', async () => {
    const path = join(dir, 'invalid.json');
    writeFileSync(path, JSON.stringify({ format: 'anomalyd-model' }));
    await expect(loadModel(path)).rejects.toThrow(/invalid model sidecar/);
  });

  it('release is idempotent and runBatch afterwards fails clearly', async () => {
    const p = randomParams('gru', C, H, 42);
    const sub = mkdtempSync(join(dir, 'release-'));
    const m = await loadModel((await writeModel(sub, sidecarInput(p, 'r', T), p)).sidecarPath);
    await m.release();
    await m.release();
    await expect(m.runBatch(pack(rows('gru', 6, [[T, T]]), T, C, H))).rejects.toThrow(/after release/);
  });
});
