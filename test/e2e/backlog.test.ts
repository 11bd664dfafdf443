/**
 * Tryout 18, findings 2 and 4: with an external mosquitto and a persistent session (`mqtt.clean: false`, the
 * default), a hub that sends no time stamps (zigbee2mqtt: its readings are stamped on arrival) goes on publishing
 * while the daemon restarts; at the reconnect (`sessionPresent: true`) the broker delivers the readings it queued
 * for the session as a burst, all stamped within a fraction of a second. Those readings are known to be late: they
 * must make no silence, no stuck value and no missing-data episode of a healthy sensor, and a real spike among them
 * is still told as a spike, with a band that does not contain it. (Finding 4's Tasmota spike, with its own time stamps
 * and so not bunched, is told `± 14` for another reason, the explanation's short baseline after a restart: not here.)
 *
 * The daemon in-process on a real mosquitto (a persistent session that outlives the daemon), a real MQTT publisher
 * (QoS 1, persistent session, no time in its payloads), a real SQLite file and an injected clock: every message's
 * arrival stamp is the next planned time (1 s apart while live; a few ms apart for the broker's burst at the
 * reconnect, as the tryout saw: 32 readings within 0.27 s), so no assertion depends on real timing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { mosquittoAvailable } from '../helpers/mosquitto.js';
import { sessionRig } from '../helpers/session-rig.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
/** The broker's burst at the reconnect: one message every this many ms of the arrival clock. */
const BURST_MS = 8;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent() || !mosquittoAvailable())('readings the broker queued for the session while the daemon restarted (mosquitto)', () => {
  it('a zigbee2mqtt sensor (no time stamps) through three restarts: its burst at each reconnect opens no silence, stuck value or missing data; a spike in it is told a spike (tryout 18, findings 2 and 4)', async () => {
    const { now, planned, alerts, hub, start } = await sessionRig('backlog', cleanups);

    // living_temp of the tryout: 21 °C, a slow swing of 0.4, ± 0.05, sent to 0.01; humidity beside it.
    const rnd = lcg(18);
    let k = 0;
    const payload = (temperature?: number): string => {
      k++;
      const t = temperature ?? Math.round((21 + 0.4 * Math.sin(k / 120) + (rnd() - 0.5) * 0.1) * 100) / 100;
      const h = Math.round((45 + (rnd() - 0.5) * 0.8) * 10) / 10;
      return JSON.stringify({ battery: 90, humidity: h, linkquality: 113, temperature: t, voltage: 2900 });
    };
    let daemon = await start();
    let taken = 0;
    /** `n` live readings, 1 s apart from `from` on the arrival clock; waits until the daemon has scored them. */
    const live = async (from: number, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) planned.push(from + i * SEC);
      for (let i = 0; i < n; i++) await hub.publishAsync('zigbee2mqtt/living_temp', payload(), { qos: 1 });
      taken += n;
      await waitFor(() => daemon.counters.scored >= 2 * taken, 60_000, `${taken} messages scored`);
    };
    // About 5 minutes of history, as the tryout's sensors had (≈ 300 readings each) when it restarted the daemon.
    await live(now() + SEC, 320);

    const downs = [40, 25, 90];
    for (const [r, down] of downs.entries()) {
      // A clean stop; the hub goes on at 1 Hz meanwhile (the broker queues for the daemon's session), with a spike
      // of the temperature at the first restart's 15th reading.
      await daemon.stop();
      for (let i = 1; i <= down; i++) await hub.publishAsync('zigbee2mqtt/living_temp', payload(r === 0 && i === 15 ? 29.5 : undefined), { qos: 1 });
      // The start a second after the last reading queued; the CONNACK, then the broker's burst of `down` messages.
      const connect = now() + (down + 1) * SEC;
      planned.push(connect, ...Array.from({ length: down }, (_, i) => connect + (i + 1) * BURST_MS));
      taken = 0;
      daemon = await start();
      await waitFor(() => daemon.counters.scored >= 2 * down, 60_000, `the burst of restart ${r + 1} scored`);
      expect(planned).toEqual([]);
      // Live again, the next reading a second after the burst began; judged for silence as housekeeping does.
      taken = down;
      await live(connect + SEC, 40);
      daemon.judgeSilences();
    }
    const episodes = daemon.database!.listAnomalies({ limit: 50 });
    // The one episode is the spike sent while the daemon was down: no missing data, no stuck value, no silence.
    expect(episodes.map((e) => [e.sensor, e.kind])).toEqual([['living_temp/temperature', 'spike']]);
    const spike = episodes[0];
    const told = spike.explanation!;
    expect(told.kind).toBe('spike');
    expect(told.value).toBe(29.5);
    // A sensible band: the spike lies outside it.
    expect(Math.abs(told.value! - told.expected!)).toBeGreaterThan(told.band!);
    await waitFor(() => alerts.some((a) => a.anomaly_id === spike.id), 10_000, 'the spike alert');
    expect(alerts.filter((a) => a.explanation?.kind === 'missing_data' || a.explanation?.kind === 'stuck')).toEqual([]);
  }, 240_000);
});
