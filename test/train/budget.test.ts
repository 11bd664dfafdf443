/**
 * The training budget in optimiser steps, early stopping a tiny validation tail cannot fool, and the check
 * against persistence (finding: modelq, 2026-12-05, "20 Adam steps from random weights": a file whose learning
 * rows make fewer windows than one batch got 20 epochs = 20 steps, a model worse than persistence, and patience
 * 4 stopped a longer training at the plateau before the loss's drop). Each test fails on main (cb9f842), where
 * the budget is in epochs alone, stopping is patience-in-epochs from the first epoch, and nothing compares the
 * model with persistence.
 */
import { describe, expect, it } from 'vitest';
import { persistenceErrors, predVsPersistence } from '../../src/train/evaluate.js';
import { mulberry32 } from '../../src/train/rng.js';
import { EarlyStopping, TRAIN_DEFAULTS, resolveTrainOptions, trainModel, trainingBudget } from '../../src/train/trainer.js';
import { readFileSync } from 'node:fs';
import { parseSidecar } from '../../src/model/sidecar.js';
import type { ModelSidecar } from '../../src/model/spec.js';

/** The shipped GRU's sidecar with `training` fields replaced (or added), parsed as a model loader does. */
function readSidecarText(training: Record<string, unknown>): ModelSidecar {
  const shipped = JSON.parse(readFileSync(new URL('../../models/gru.json', import.meta.url), 'utf8')) as { training: Record<string, unknown> };
  return parseSidecar({ ...shipped, training: { ...shipped.training, ...training } }, 'gru.json');
}

/** The budget measured in trainbudget (off by default: not kept, BENCHMARKS.md). */
const stepBudget = { minSteps: 300, minStepsBeforeStop: 150, patienceSteps: 30 } as const;

describe('trainingBudget: at least minSteps optimiser steps', () => {
  it('gives a series of fewer windows than one batch ⌈minSteps⌉ epochs, and one of many windows its epochs', () => {
    const o = resolveTrainOptions({ epochs: 20, ...stepBudget });
    // modelq's file: 23 windows, 1 batch of 32 per epoch: 20 epochs were 20 steps.
    const tiny = trainingBudget(23, o);
    expect(tiny.batches).toBe(1);
    expect(tiny.batches * tiny.epochs).toBeGreaterThanOrEqual(stepBudget.minSteps);
    // A patience of 4 epochs would be 4 steps here.
    expect(tiny.patienceEpochs * tiny.batches).toBeGreaterThanOrEqual(stepBudget.patienceSteps);
    // The shipped models' training (4,718 windows, 148 batches): its epochs and patience are unchanged.
    const big = trainingBudget(4718, resolveTrainOptions({ epochs: 40, ...stepBudget }));
    expect(big).toEqual({ batches: 148, epochs: 40, patienceEpochs: TRAIN_DEFAULTS.patience, minStepsBeforeStop: stepBudget.minStepsBeforeStop });
    // minSteps 0: the budget is in epochs alone, as before.
    expect(trainingBudget(23, resolveTrainOptions({ epochs: 20, minSteps: 0 })).epochs).toBe(20);
    expect(() => trainingBudget(0, o)).toThrow(RangeError);
    expect(() => resolveTrainOptions({ minSteps: -1 })).toThrow(/minSteps/);
  });

  it('trains a tiny series (one batch per epoch) for at least minSteps steps, however few epochs are asked', () => {
    const rng = mulberry32(4);
    const values = Float64Array.from({ length: 120 }, (_, t) => Math.sin(t / 2) + 0.1 * rng());
    const minSteps = 60;
    // 120 rows, W 8, hop 2: 44 training windows, 2 batches of 32 per epoch; 3 epochs would be 6 steps.
    const r = trainModel({ channels: ['v'], values }, { hidden: 4, window: 8, hop: 2, epochs: 3, seed: 3, minSteps, minStepsBeforeStop: minSteps });
    expect(r.training.trainWindows).toBe(44);
    expect(r.maxEpochs).toBe(30);
    expect(r.steps).toBe(2 * r.losses.length);
    expect(r.steps).toBeGreaterThanOrEqual(minSteps);
    expect(r.training.steps).toBe(r.steps);
  });
});

describe('EarlyStopping on a tiny validation tail', () => {
  /**
   * A validation loss curve shaped like modelq's (dev daily_cycle_frequency_1h, 1 step per epoch): a slow fall to
   * epoch 30, a plateau to epoch 37 (flatter than modelq's, whose 7 % fall there let patience 4 run on to a wobble
   * after the drop and stop at epoch 60), the drop to epoch 53, then a wobble. Not fitted to anything: the shape
   * is the point.
   */
  function modelqCurve(epochs: number): number[] {
    return Array.from({ length: epochs }, (_, i) => {
      const e = i + 1;
      if (e <= 30) return 1.4 - (0.57 * e) / 30;
      if (e <= 37) return 0.83 - 0.001 * (e - 30);
      if (e <= 53) return 0.823 - (0.713 * (e - 37)) / 16;
      return 0.11 + 0.03 * Math.abs(Math.sin(e));
    });
  }

  function run(budget: ReturnType<typeof trainingBudget>, curve: readonly number[]): EarlyStopping & { stoppedAt: number } {
    const s = new EarlyStopping(budget, TRAIN_DEFAULTS.minImprovement, 1.42);
    let stoppedAt = curve.length;
    for (let e = 1; e <= curve.length; e++) {
      if (s.observe(e, curve[e - 1], e * budget.batches).stop) {
        stoppedAt = e;
        break;
      }
    }
    return Object.assign(s, { stoppedAt });
  }

  it('does not stop at the plateau before the drop, and keeps the epoch of the lowest loss', () => {
    const curve = modelqCurve(300);
    const budget = trainingBudget(23, resolveTrainOptions({ epochs: 20, ...stepBudget }));
    const s = run(budget, curve);
    expect(s.stoppedAt).toBeGreaterThan(53);
    expect(s.bestValLoss).toBe(Math.min(...curve.slice(0, s.stoppedAt)));
    expect(s.bestValLoss).toBeLessThan(0.15);
    // The rule this replaces (patience 4 epochs from the first epoch) stops on the plateau.
    const old = run(trainingBudget(23, resolveTrainOptions({ epochs: 300, minSteps: 0, minStepsBeforeStop: 0, patienceSteps: 0 })), curve);
    expect(old.stoppedAt).toBeLessThan(38);
    expect(old.bestValLoss).toBeGreaterThan(0.7);
  });

  it('still stops a training that has stopped improving, once past minStepsBeforeStop', () => {
    const budget = trainingBudget(23, resolveTrainOptions({ epochs: 20, ...stepBudget }));
    const flat = Array.from({ length: budget.epochs }, () => 1);
    const s = run(budget, flat);
    expect(s.stoppedAt).toBe(Math.max(budget.patienceEpochs, budget.minStepsBeforeStop / budget.batches));
    expect(s.stoppedAt).toBeLessThan(budget.epochs);
    expect(s.bestEpoch).toBe(1);
  });
});

describe('the model against persistence on the validation tail', () => {
  it('computes persistence’s errors over the readings the model predicts, and the MSE ratio', () => {
    // Two channels, rows 0..4; ranges [1, 4) and [4, 5) (a one-row range predicts nothing).
    const x = Float64Array.of(0, 0, 1, 2, 3, 2, 3, 6, 9, 9);
    const e = persistenceErrors(x, 2, [{ from: 1, to: 4 }, { from: 4, to: 5 }]);
    expect([...e]).toEqual([(4 + 0) / 2, (0 + 16) / 2]);
    expect(predVsPersistence(Float64Array.of(1, 4), e)).toBeCloseTo(5 / 10, 12);
    expect(predVsPersistence(Float64Array.of(1), Float64Array.of(0))).toBeNaN();
    expect(() => predVsPersistence(Float64Array.of(1), e)).toThrow(RangeError);
  });

  it('records the ratio and warns when the model predicts worse than repeating the last reading', () => {
    // A slow random walk: persistence is nearly perfect, and a model of 2 steps is not.
    const rng = mulberry32(7);
    let level = 0;
    const walk = Float64Array.from({ length: 200 }, () => (level += 0.05 * (rng() - 0.5)));
    const weak = trainModel({ channels: ['v'], values: walk }, { hidden: 4, window: 8, hop: 2, epochs: 1, batchSize: 64, minSteps: 0, seed: 1 });
    expect(weak.predVsPersistence).toBeGreaterThan(1);
    expect(weak.training.predVsPersistence).toBe(weak.predVsPersistence);
    expect(weak.warnings).toHaveLength(1);
    expect(weak.warnings[0]).toMatch(/worse than persistence/);
  });

  it('does not warn for a model that beats persistence', () => {
    // Readings alternating ±1: persistence is wrong by 2 at every reading, and the model learns the flip.
    const rng = mulberry32(8);
    const flip = Float64Array.from({ length: 200 }, (_, t) => (t % 2 === 0 ? 1 : -1) + 0.05 * (rng() - 0.5));
    const r = trainModel({ channels: ['v'], values: flip }, { hidden: 4, window: 8, hop: 2, epochs: 3, minSteps: 150, seed: 1 });
    expect(r.predVsPersistence).toBeLessThan(1);
    expect(r.warnings).toEqual([]);
  });

  it('survives the sidecar: training.steps and predVsPersistence are read back', () => {
    const text = readSidecarText({ steps: 300, predVsPersistence: 2.5 });
    expect(text.training.steps).toBe(300);
    expect(text.training.predVsPersistence).toBe(2.5);
    expect(readSidecarText({ predVsPersistence: null }).training.predVsPersistence).toBeNull();
    // A sidecar written before they were recorded still reads.
    expect(readSidecarText({}).training.steps).toBeUndefined();
  });
});
