/**
 * The driftreplay finding (issue 10, cause 5: what is measured is not what ships): the drift guard the learner ran
 * before decideOwnModel and the replay did not is now one function (src/learn/drift-guard.ts driftedHistory) that
 * decideOwnModel calls first, and the shared model's weights are read by one helper (src/learn/shared-weights.ts)
 * for the daemon and the replay. Fails on main: neither module exists, and decideOwnModel trained a drifting history.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHIPPED_DRIFT_GUARD, driftGuardOf, driftedHistory } from '../../src/learn/drift-guard.js';
import { decideOwnModel } from '../../src/learn/own-model.js';
import { sharedWeightsOf } from '../../src/learn/shared-weights.js';
import { loadConfig } from '../../src/config/load.js';
import { ROOT } from '../helpers/daemon.js';
import { normal } from '../pipeline/detector-helpers.js';

/** 21 + N(0, 0.1) every reading, to 0.01, rising 12 over 10,800 readings from reading `onset` on (never: Infinity). */
function room(seed: number, rows: number, onset: number): Float64Array {
  const g = normal(seed);
  return Float64Array.from({ length: rows }, (_, k) => Math.round((21 + 0.1 * g() + (k >= onset ? (12 / 10_800) * (k - onset + 1) : 0)) * 100) / 100);
}

describe('the drift guard of own-model learning (src/learn/drift-guard.ts)', () => {
  it('names the first history of a scope drifting in its newest 20 %, with its row and channel; steady histories pass', () => {
    const steady = room(1, 3600, Infinity);
    const drifting = room(2, 3600, 1800);
    expect(driftedHistory([steady, room(3, 3600, Infinity)], 1, SHIPPED_DRIFT_GUARD)).toBeNull();
    const found = driftedHistory([steady, drifting], 1, SHIPPED_DRIFT_GUARD);
    expect(found).toMatchObject({ history: 1, channel: 0 });
    expect(found!.row).toBeGreaterThanOrEqual(2880);
    // A history of two channels (time-major) whose second drifts: channel 1.
    const both = new Float64Array(7200);
    for (let k = 0; k < 3600; k++) {
      both[2 * k] = steady[k];
      both[2 * k + 1] = drifting[k];
    }
    expect(driftedHistory([both], 2, SHIPPED_DRIFT_GUARD)).toMatchObject({ history: 0, channel: 1 });
  });

  it('takes the config’s score.smooth and score.learnReadings (the shipped ones: 31 and 256)', () => {
    const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: {} });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    expect(driftGuardOf(loaded.config)).toEqual(SHIPPED_DRIFT_GUARD);
  });

  it('is decideOwnModel’s first step: a drifting history is told as `drifted` and nothing is trained, written or gated', async () => {
    let calls = 0;
    const outcome = await decideOwnModel(
      { histories: [room(2, 3600, 1800)], channels: 1, options: { cell: 'gru', hidden: 4, window: 16, hop: 4, epochs: 1 }, shared: null, source: () => 'test', drift: SHIPPED_DRIFT_GUARD },
      {
        train: () => Promise.reject(new Error(`trained (${++calls})`)),
        inUse: () => {
          calls++;
          return { model: null, shared: false };
        },
        materialise: () => Promise.reject(new Error(`materialised (${++calls})`)),
      },
    );
    expect(outcome.kind).toBe('drifted');
    expect(calls).toBe(0);
  });
});

describe('the shared model’s weights for own models (src/learn/shared-weights.ts)', () => {
  it('reads the shipped model’s weights, and gives null with one warning (the error and what follows) for a file it cannot read', () => {
    const warnings: Array<[string, unknown]> = [];
    const params = sharedWeightsOf(join(ROOT, 'models', 'gru.json'), (m, err) => warnings.push([m, err]));
    expect(params?.cell).toBe('gru');
    expect(warnings).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-shared-weights-'));
    try {
      const broken = join(dir, 'broken.json');
      writeFileSync(broken, '{ not json');
      expect(sharedWeightsOf(broken, (m, err) => warnings.push([m, err]))).toBeNull();
      expect(sharedWeightsOf(join(dir, 'missing.json'), (m, err) => warnings.push([m, err]))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(warnings).toHaveLength(2);
    for (const [m, err] of warnings) {
      expect(err).toBeInstanceOf(Error);
      expect(m).toBe(`could not read the shared model’s weights (${(err as Error).message}): own models are learnt from scratch`);
    }
  });
});
