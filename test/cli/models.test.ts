import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { modelsCommand } from '../../src/cli/models.js';
import { captureIo } from '../helpers/cli-io.js';

let dir: string;
let db: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-models-cli-'));
  db = join(dir, 'anomalyd.db');
  const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
  for (const id of ['p1-a@1', 'p1-b@2']) {
    store.addModel({ id, name: id.split('@')[0], sidecarPath: `/x/${id}.json`, scope: 'p1', cell: 'gru', rows: 1000, valLoss: 0.1, calibration: {}, source: 'test' });
  }
  store.assignModel('p1', 'p1-a@1', 'trained');
  store.assignModel('p1', 'p1-b@2', 'retrained');
  store.close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const io = captureIo;

describe('anomalyd models', () => {
  it('lists models and who uses them', async () => {
    const c = io();
    expect(await modelsCommand(['list', '--db', db], c)).toBe(0);
    expect(c.out).toContain('p1-b@2');
    expect(c.out).toMatch(/p1-b@2[\s\S]*used by: p1/);
    expect(c.out).toMatch(/p1-a@1[\s\S]*used by: \(none\)/);
    // Models being learnt are not in the database yet: it says where their progress is (tryout).
    expect(c.out).toMatch(/Sensors still learning their own model, and how far each is: 'anomalyd status'\.\n$/);
  });

  it('rolls a sensor back to its previous model, recorded as a new assignment', async () => {
    const c = io();
    expect(await modelsCommand(['rollback', 'p1', '--db', db], c)).toBe(0);
    expect(c.out).toBe("p1: p1-b@2 -> p1-a@1 (pinned: not learnt again until 'anomalyd models unpin p1')\n");
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
    expect(store.assignments().map((a) => [a.sensor, a.modelId, a.reason, a.pinned])).toEqual([['p1', 'p1-a@1', 'rollback', true]]);
    store.close();
    // --no-pin: not pinned; unpin refuses a sensor that is not pinned.
    const back = io();
    expect(await modelsCommand(['rollback', 'p1', 'p1-b@2', '--no-pin', '--db', db], back)).toBe(0);
    expect(back.out).toBe('p1: p1-a@1 -> p1-b@2\n');
    const unpin = io();
    expect(await modelsCommand(['unpin', 'p1', '--db', db], unpin)).toBe(1);
    expect(unpin.err).toContain('is not pinned');
    // retrain is for a sensor without a model of its own.
    const retrain = io();
    expect(await modelsCommand(['retrain', 'p1', '--db', db], retrain)).toBe(1);
    expect(retrain.err).toContain('has a model of its own');
    expect(await modelsCommand(['unpin', 'p1', '--no-pin', '--db', db], io())).toBe(2);
  });

  it('carries a renamed sensor\'s model over as docs/MODEL.md says (tryout 39, finding 12)', async () => {
    // docs/MODEL.md gives the command for an ESPHome node renamed workshop -> workshop2.
    const doc = readFileSync(new URL('../../docs/MODEL.md', import.meta.url), 'utf8');
    expect(doc).toContain('anomalyd models rollback workshop2/vibration MODEL_ID --no-pin');
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
    const id = 'workshop_vibration-20261206T053824@fcd6ce7d8ba1';
    store.addModel({ id, name: id.split('@')[0], sidecarPath: `/x/${id}.json`, scope: 'workshop/vibration', cell: 'gru', rows: 3600, valLoss: 0.1, calibration: {}, source: 'test' });
    store.assignModel('workshop/vibration', id, 'trained');
    // The new name learning on the shared model: its readings stored, no assignment.
    store.appendReadings('workshop2/vibration', Float64Array.from([1, 2, 3]), Float32Array.from([0.3, 0.31, 0.29]), 1);
    store.close();
    const c = io();
    expect(await modelsCommand(['rollback', 'workshop2/vibration', id, '--no-pin', '--db', db], c)).toBe(0);
    expect(c.out).toBe(`workshop2/vibration: the shared model -> ${id}\n`);
    const after = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
    expect(after.assignments().filter((a) => a.sensor === 'workshop2/vibration').map((a) => [a.modelId, a.pinned])).toEqual([[id, false]]);
    after.close();
    const list = io();
    expect(await modelsCommand(['list', '--db', db], list)).toBe(0);
    expect(list.out).toMatch(new RegExp(`${id.replace(/[.@]/g, '\\$&')}[\\s\\S]*used by: (workshop/vibration, workshop2/vibration|workshop2/vibration, workshop/vibration)`));
  });

  it('refuses a sensor without a model of its own, and bad usage', async () => {
    const c = io();
    expect(await modelsCommand(['rollback', 'nope', '--db', db], c)).toBe(1);
    expect(c.err).toContain('uses the shared model');
    expect(await modelsCommand(['frobnicate', '--db', db], io())).toBe(2);
  });
});

describe('anomalyd models: tries since the last accepted model', () => {
  it('lists every try of a scope since its last accepted model, newest first, and tells a training that made no new model as such (tryout 26)', async () => {
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
    const check = (candidate: string, accepted: boolean, reason: string, figures: object, retryAfter: number | null): void =>
      store.addModelCheck({ scope: 'h', sensors: ['h'], candidate, current: 'gru@shared', accepted, reason, figures, retryAfter });
    check('h-old@1', false, 'an older rejection, before the accepted model', { tries: 1 }, 600);
    check('h-a@2', true, 'measurably better', {}, null);
    check('h-b@3', false, '2.5 times worse than the model in use', { tries: 1 }, 600);
    check('gru@shared', false, 'training from the shared model kept its weights: none of its 3 epochs lowered the validation loss below the start (0.1000; lowest 0.1200)', { unchanged: true, tries: 2 }, 1200);
    store.close();
    const c = io();
    expect(await modelsCommand(['list', '--db', db], c)).toBe(0);
    // Both tries since the accepted model, the newest first; the one before it is not listed.
    expect(c.out).not.toContain('h-old@1');
    const unchanged = c.out.indexOf('no new model for h');
    const rejected = c.out.indexOf('rejected h-b@3 (not used)');
    expect(unchanged).toBeGreaterThan(-1);
    expect(rejected).toBeGreaterThan(unchanged);
    expect(c.out).toContain('kept its weights: none of its 3 epochs');
    expect(c.out).not.toContain('rejected gru@shared');
    // When it tries again is said once, under the newest.
    expect(c.out.match(/tries again after/g)).toHaveLength(1);
    expect(c.out).toContain('tries again after 1200 more normal readings');
  });
});
