/**
 * The open alert of a value pinned far off its normal tells no kind: it is sent at the episode's first reading, and one
 * reading is no run (explain.ts pinnedRun needs PINNED_READINGS, 3, of them). Once the third reading tells the stuck
 * value, an `update` carries the kind without waiting for another reading (the daemon's retelling of open episodes,
 * Daemon.touchOpenEpisodes → SignalBook.retell, at most about 10 s of wall time later), stored, then published; the
 * record tells it from then on, and the resolve keeps it (docs/ALERTS.md, "What is told when", point 2).
 *
 * The daemon in-process with the embedded broker, a real MQTT client, a real SQLite file and the shipped GRU, its
 * clock injected (the readings' own times), as test/e2e/pinned-record.test.ts; tryout 27's 5-minute sensor, its
 * readings one message each from the pinned run on (a 5-minute sensor sends one every 5 minutes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { Daemon } from '../../src/daemon.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent())('the open alert of a value pinned far off its normal', () => {
  it('tells no kind at one reading; the update of its kind at its third reading is stored and published while it is open, before any later reading', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-pinned-open-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: { dataDir, broker: { port: 0 }, http: { enabled: false }, model: { dir: MODELS, worker: false }, learning: { enabled: false }, explain: { timeZone: 'UTC' } },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const rnd = lcg(27);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    // Tryout 27's mkcsv.py: 18 + 4 sin over a day ± 0.1 every 5 min, 2 decimals; −127 at 03:00 of the third day for
    // 30 min (6 readings), then its readings again.
    const DAY = 288;
    const STEP = 300_000;
    const T0 = Date.UTC(2026, 10, 23);
    const AT = 2 * DAY + 36;
    const LEN = 6;
    const values = Array.from({ length: 3 * DAY }, (_, i) => {
      if (i >= AT && i < AT + LEN) return -127;
      const h = ((i * 5) / 60) % 24;
      return Math.round((18 + 4 * Math.sin((2 * Math.PI * (h - 9)) / 24) + 0.1 * gauss()) * 100) / 100;
    });
    let now = T0;
    const clock = (): number => now;
    const daemon = new Daemon({ config: loaded.config, logger: pino({ level: 'silent' }), now: clock, arrivalNow: clock });
    cleanups.push(() => daemon.stop());
    await daemon.start();
    const alerts: AlertPayload[] = [];
    const sub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `pinned-open-sub-${process.pid}` });
    cleanups.push(() => sub.endAsync());
    sub.on('message', (_topic, payload) => alerts.push(JSON.parse(payload.toString('utf8')) as AlertPayload));
    await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
    const pub = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `pinned-open-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync());
    for (let i = 0; i < AT; i += 50) {
      const chunk = values.slice(i, Math.min(i + 50, AT));
      now = T0 + (i + chunk.length - 1) * STEP;
      await pub.publishAsync('sensors/week5', JSON.stringify({ values: chunk, ts: T0 + i * STEP, interval_ms: STEP }), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= AT, 90_000, 'the readings before scored');
    const one = async (i: number): Promise<void> => {
      now = T0 + i * STEP;
      await pub.publishAsync('sensors/week5', JSON.stringify({ value: values[i], ts: now }), { qos: 1 });
      await waitFor(() => daemon.counters.scored >= i + 1, 30_000, `reading ${i} scored`);
    };

    // Its first reading opens the episode: no kind yet (one reading is no run), its value the pinned one.
    await one(AT);
    await waitFor(() => alerts.some((a) => a.sensor === 'week5' && a.event === 'open'), 30_000, 'the open');
    const open = alerts.find((a) => a.sensor === 'week5' && a.event === 'open')!;
    expect(Date.parse(open.start)).toBe(T0 + AT * STEP);
    expect(open.explanation).toMatchObject({ kind: null, value: -127 });
    const id = open.anomaly_id;
    // Its second and third readings: then no more reading; the update of its kind comes from the three alone.
    await one(AT + 1);
    await one(AT + 2);
    await waitFor(() => alerts.some((a) => a.anomaly_id === id && a.event === 'update' && a.explanation?.kind === 'stuck'), 30_000, 'an update telling the stuck value');
    expect(daemon.counters.scored).toBe(AT + 3);
    const update = alerts.find((a) => a.anomaly_id === id && a.event === 'update' && a.explanation?.kind === 'stuck')!;
    expect(update.explanation).toMatchObject({ kind: 'stuck', value: -127 });
    expect(update.explanation?.sentence).toMatch(/^week5 −127\.00 unchanged for 10 min, expected .* since 03:00 \(stuck value\)$/);
    // Stored, then published: the update is among the episode's events, and the open record tells the stuck value.
    const record = daemon.database!.getAnomaly(id)!;
    expect(record.status).toBe('open');
    expect(record).toMatchObject({ kind: 'stuck', explanation: { kind: 'stuck', value: -127 } });
    expect(record.events.map((e) => [e.kind, e.payload.explanation?.kind ?? null])).toEqual([
      ['open', null],
      ['update', 'stuck'],
    ]);

    // The rest of the run and the readings after it: every later alert and the resolved record tell the stuck value.
    for (let i = AT + 3; i < AT + LEN + 3; i++) await one(i);
    for (let i = AT + LEN + 3; i < values.length; i += 50) {
      const chunk = values.slice(i, i + 50);
      now = T0 + (i + chunk.length - 1) * STEP;
      await pub.publishAsync('sensors/week5', JSON.stringify({ values: chunk, ts: T0 + i * STEP, interval_ms: STEP }), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= values.length, 90_000, 'every reading scored');
    await waitFor(() => alerts.some((a) => a.anomaly_id === id && a.event === 'resolve'), 30_000, 'the resolve');
    const sent = alerts.filter((a) => a.anomaly_id === id);
    for (const a of sent.slice(1)) expect({ kind: a.explanation?.kind, value: a.explanation?.value }, `${a.event}: ${a.explanation?.sentence}`).toEqual({ kind: 'stuck', value: -127 });
    await waitFor(() => daemon.database!.getAnomaly(id)?.status === 'resolved', 10_000, 'the record resolved');
    const resolved = daemon.database!.getAnomaly(id)!;
    expect(resolved).toMatchObject({ kind: 'stuck', explanation: { kind: 'stuck', value: -127 } });
    expect(resolved.events.map((e) => e.kind)).toEqual(sent.map((a) => a.event));
  }, 240_000);
});
