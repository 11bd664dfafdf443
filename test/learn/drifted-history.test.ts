/**
 * The own-model learner does not learn a history that is drifting away from everything it had shown (tryout 29
 * finding 1: a 1 Hz room temperature at 21 ± 0.2 °C that drifted +12 °C over three hours was learnt, and its model
 * passed the gate: the drift became "normal"). Real parts: a SQLite file, the project's trainer (inline, tiny
 * settings), ONNX export and onnxruntime, the shipped model as the one in use.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { writeModel } from '../../src/model/onnx-export.js';
import { Learner, type LearningOptions } from '../../src/learn/learner.js';
import { ModelRegistry, compileScopes } from '../../src/learn/registry.js';
import { trainModel } from '../../src/train/trainer.js';
import { normal } from '../pipeline/detector-helpers.js';

const logger = pino({ level: 'silent' });
/** The shipped learning.minReadings, the shipped short means' span (2 · 16 − 1) and learning period. */
const options: LearningOptions = { enabled: true, minReadings: 3600, maxReadings: 50_000, retrainIntervalMs: 0, epochs: 1, hidden: 6, cell: 'gru', window: 16, hop: 4, levelSpan: 31, levelLearn: 256 };

let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-drifted-'));
  store = SqliteStore.open(join(dir, 'db.sqlite'), { commitIntervalMs: 0, outboxMax: 100, logger });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** 21 + N(0, 0.1) °C every second, to 0.01, rising `rise` °C per reading from reading `onset` on (never: Infinity). */
function readings(seed: number, rows: number, onset: number, rise: number): number[] {
  const g = normal(seed);
  return Array.from({ length: rows }, (_, k) => Math.round((21 + 0.1 * g() + (k >= onset ? rise * (k - onset + 1) : 0)) * 100) / 100);
}

/** Observes `values` (all as normal: the detector never told them), asks for a training and waits for it; the trainings run. */
async function learnFrom(values: readonly number[]): Promise<{ trained: number; registry: ModelRegistry; shared: Awaited<ReturnType<typeof loadModel>> }> {
  const shared = await loadModel(new URL('../../models/gru.json', import.meta.url).pathname);
  const scopeOf = compileScopes([]);
  const registry = new ModelRegistry(shared, scopeOf, logger);
  let trained = 0;
  const learner = new Learner(options, {
    store, registry, scopeOf, writeModel, loadModel, logger, now: Date.now, modelsDir: join(dir, 'models'),
    train: (series, o, onProgress) => {
      trained++;
      return Promise.resolve(trainModel(series, o, onProgress));
    },
  });
  const t0 = Date.UTC(2026, 11, 4, 8);
  values.forEach((v, k) => learner.observe('house/temp', t0 + k * 1000, [v], false));
  learner.maybeTrain();
  while (learner.busy !== null) await new Promise((r) => setTimeout(r, 20));
  return { trained, registry, shared };
}

describe('own-model learning of a drifting history (tryout 29 finding 1)', () => {
  it('a steady 21 ± 0.1 °C stream drifting +12 °C over 10,800 readings from reading 1,800: its first 3,600 readings are not trained on, and the check says why', async () => {
    const { trained, registry, shared } = await learnFrom(readings(1, 3600, 1800, 12 / 10_800));
    expect(trained).toBe(0);
    const [check] = store.modelChecks('house/temp');
    expect(check.accepted).toBe(false);
    expect(check.reason).toMatch(/^house\/temp drifted away from every level it had shown from 2026-12-04T08:\d\d:\d\d\.000Z on: its history is not learnt as normal$/);
    expect(check.figures).toMatchObject({ drifted: { sensor: 'house/temp', channel: 0 }, tries: 1 });
    expect(check.retryAfter).toBe(options.minReadings);
    expect(store.models()).toHaveLength(0);
    expect(registry.modelFor('house/temp')).toBe(shared);
    await registry.releaseAll();
  }, 120_000);

  it('the same stream without the drift is trained on (the guard lets a steady history through)', async () => {
    const { trained, registry } = await learnFrom(readings(1, 3600, Infinity, 0));
    expect(trained).toBe(1);
    const [check] = store.modelChecks('house/temp');
    expect((check.figures as { drifted?: unknown }).drifted).toBeUndefined();
    await registry.releaseAll();
  }, 120_000);
});
