/**
 * Tryout 11, finding 5.5: an `update` that repeats its episode's previous alert word for word (the same kind, the
 * same sentence, the same `peak_score`: the detector's update for a tenfold rarer peak past the score's resolution,
 * where peak_score is 1 before and after) is not sent; the updates that tell a kind, a new sentence or a rarer
 * peak still are. 10 ± 0.1 with two noise bursts (± 1.0 for 40 readings: opened on one reading, then told a
 * spike, shift or noise change by updates) and two jumps of +2 for 40 readings (whose peak runs past the score's
 * resolution at once: before the change an update 2 readings after the open repeated it, peak_score 1 both),
 * back-dated and sent fast, as the tryout did. The real daemon, a real broker (mosquitto), a real SQLite file.
 */
import { chmodSync } from 'node:fs';
import mqtt from 'mqtt';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { MqttRecorder } from '../helpers/alert-stream.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();
const SENSOR = 's_burst';
const READINGS = 1500;
/** Where the noise bursts and the jumps start (readings); each lasts LENGTH readings. */
const BURSTS = [400, 700];
const JUMPS = [1000, 1300];
const LENGTH = 40;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** 10 ± 0.1 (Gaussian, seeded), ± 1.0 during the bursts, 12 ± 0.1 during the jumps; three decimals, as the tryout's gateway sent them. */
function values(seed: number): number[] {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const gauss = (): number => {
    let u = 0;
    while (u === 0) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const inside = (starts: readonly number[], i: number): boolean => starts.some((b) => i >= b && i < b + LENGTH);
  return Array.from({ length: READINGS }, (_, i) => Number((10 + (inside(JUMPS, i) ? 2 : 0) + (inside(BURSTS, i) ? 1 : 0.1) * gauss()).toFixed(3)));
}

/** What an operator reads in an alert besides its times and current score. */
function told(a: AlertPayload): string {
  return JSON.stringify([a.explanation?.kind ?? null, a.explanation?.sentence ?? null, a.peak_score]);
}

describe.skipIf(!ready)('episode updates that repeat the previous alert (mosquitto)', () => {
  it('sends no update that repeats its predecessor, and keeps those that tell a kind, a sentence or a peak', async () => {
    const broker = new Mosquitto();
    chmodSync(broker.dir, 0o777); // mosquitto drops root to its own user, which writes its persistence file here
    await broker.start();
    cleanups.push(() => broker.stop());
    const daemon = new DaemonProcess({ broker: { enabled: false }, mqtt: { url: broker.url, clientId: 'anomalyd-repeats' }, store: { commitIntervalMs: 20 } });
    cleanups.push(async () => void (await daemon.stop('SIGKILL')));
    await daemon.start();
    const recorder = await MqttRecorder.connect(broker.url, { clientId: 'repeats-recorder', clean: true, filters: ['anomalyd/alerts/+'] });
    cleanups.push(() => recorder.end());
    const sensors = await mqtt.connectAsync(broker.url, { clientId: 'repeats-sensors' });
    cleanups.push(() => sensors.endAsync(true));

    const start = Math.floor((Date.now() - 2 * 3_600_000) / 1000) * 1000;
    const v = values(12345);
    for (let i = 0; i < READINGS; i += 50) {
      await sensors.publishAsync(`sensors/${SENSOR}`, JSON.stringify({ values: v.slice(i, i + 50), ts: start + i * 1000, interval_ms: 1000 }), { qos: 1 });
    }
    const http = daemon.logged('ready')[0].http as string;
    const scored = async (): Promise<number> => ((await (await fetch(`${http}/api/status`)).json()) as { counters: { scored: number } }).counters.scored;
    await waitFor(async () => (await scored()) === READINGS, 60_000, 'every reading scored');
    // Every episode opened has resolved (the last jump ends 160 readings before the stream does).
    const byEpisode = (): Map<string, AlertPayload[]> => {
      const out = new Map<string, AlertPayload[]>();
      for (const a of recorder.alerts()) out.set(a.anomaly_id, [...(out.get(a.anomaly_id) ?? []), a]);
      return out;
    };
    await waitFor(() => byEpisode().size >= BURSTS.length + JUMPS.length && [...byEpisode().values()].every((as) => as.some((a) => a.event === 'resolve')), 60_000, 'every episode resolved');

    let kindTold = 0;
    let updates = 0;
    for (const [id, alerts] of byEpisode()) {
      alerts.sort((a, b) => a.seq - b.seq);
      alerts.forEach((a, i) => {
        if (a.event !== 'update') return;
        updates++;
        // Nothing new: the same kind, sentence and peak as the alert before it.
        expect(told(a), `${id} seq ${a.seq}`).not.toBe(told(alerts[i - 1]));
        if ((a.explanation?.kind ?? null) !== (alerts[i - 1].explanation?.kind ?? null)) kindTold++;
      });
      // Store, then alert: what was not sent was not stored either; seq numbers have no holes.
      expect(alerts.map((a) => a.seq)).toEqual(alerts.map((_, i) => i + 1));
    }
    expect(updates).toBeGreaterThan(0);
    expect(kindTold).toBeGreaterThan(0);
    const db = new Database(daemon.dbPath, { readonly: true });
    try {
      const stored = db.prepare("SELECT COUNT(*) AS n FROM anomaly_events WHERE kind = 'update'").get() as { n: number };
      expect(stored.n).toBe(updates);
    } finally {
      db.close();
    }
  }, 180_000);
});
