/**
 * Issue 5, learning on the device, through the real daemon: a new sensor with no model of its own (and no
 * shared fallback) is `learning`, raises nothing, has its normal readings stored, gets a model trained for it
 * in a worker thread, swaps it in without a restart, and then detects a level shift with that model.
 */
import mqtt from 'mqtt';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { bursts, sensorSeries } from '../helpers/alert-stream.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
const LEARN = 1100;
const AFTER = 1800;
/**
 * After the swap the sensor's windows go through the normalisation warm-up (model.normWarmup, 512 readings:
 * it had no model, so nothing was normalised yet) and the score's learning period (30 windows of 16): the
 * shift comes after both.
 */
const SHIFT_AT = LEARN + 1500;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!ready)('learning on the device (embedded broker)', () => {
  it('learns a new sensor, swaps its model in, then detects with it', async () => {
    const daemon = new DaemonProcess({
      broker: { port: 0 },
      learning: { enabled: true, fallback: false, minReadings: 1000, epochs: 3, hidden: 16 },
    });
    cleanups.push(async () => void (await daemon.stop('SIGKILL')));
    await daemon.start();
    const url = daemon.logged('ready')[0].mqtt as string;
    const client = await mqtt.connectAsync(url, { clientId: `learning-${process.pid}` });
    cleanups.push(() => client.endAsync(true));
    const alerts: AlertPayload[] = [];
    const states: { status: string; model?: string }[] = [];
    client.on('message', (topic, payload) => {
      if (topic.startsWith('anomalyd/alerts/')) alerts.push(JSON.parse(payload.toString()) as AlertPayload);
      if (topic === 'anomalyd/state/press') states.push(JSON.parse(payload.toString()) as { status: string; model?: string });
    });
    await client.subscribeAsync(['anomalyd/alerts/+', 'anomalyd/state/press'], { qos: 1 });

    const start = Math.floor((Date.now() - 2 * 3_600_000) / 1000) * 1000;
    const series = sensorSeries({
      sensor: 'press',
      kind: 'vibration',
      seed: 91,
      startTs: start,
      readings: LEARN + AFTER,
      shifts: [{ at: SHIFT_AT, length: 200, magnitude: 6 }],
    });
    const all = bursts('press', series, 50);
    for (const b of all.slice(0, LEARN / 50)) await client.publishAsync(b.topic, b.payload, { qos: 1 });

    await waitFor(() => daemon.logged('model trained and swapped in').length > 0, 60_000, 'a model trained for the sensor');
    const trained = daemon.logged('model trained and swapped in')[0];
    expect(trained.sensors).toEqual(['press']);
    expect(states[0]?.status).toBe('learning');
    expect(alerts).toEqual([]);

    for (const b of all.slice(LEARN / 50)) await client.publishAsync(b.topic, b.payload, { qos: 1 });
    await waitFor(() => alerts.some((a) => a.event === 'open'), 30_000, 'an alert from the learnt model');
    const open = alerts.find((a) => a.event === 'open')!;
    expect(open.model).toBe(trained.model);
    expect(Date.parse(open.start)).toBeGreaterThanOrEqual(start + (SHIFT_AT - 64) * 1000);
    expect(states.some((s) => s.model === trained.model)).toBe(true);

    expect(await daemon.stop('SIGTERM')).toBe(0);
    const db = new Database(daemon.dbPath, { readonly: true });
    try {
      const models = db.prepare('SELECT id, scope FROM models').all() as { id: string; scope: string }[];
      expect(models).toEqual([{ id: trained.model, scope: 'press' }]);
      const assigned = db.prepare('SELECT sensor, model_id, reason FROM model_assignments').all();
      expect(assigned).toEqual([{ sensor: 'press', model_id: trained.model, reason: 'trained' }]);
    } finally {
      db.close();
    }
  }, 120_000);
});
