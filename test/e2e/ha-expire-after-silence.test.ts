/**
 * One silence is one episode, whichever judge tells it first (tryout 29, finding 5; docs/ALERTS.md, "A device that
 * says it is offline"). Home Assistant discovery entities with an `expire_after` (home-assistant.io, "MQTT Sensor"),
 * read by the homeassistant preset, through the daemon in-process with a virtual wall clock, the embedded broker and
 * a real SQLite file:
 *
 * - word first: `th2`'s expire_after (30 s) is shorter than the silence judge's wait (about 45 s at 1 s readings): its
 *   silence is ONE `device_offline` episode of the device, its stream's silence not judged (as before);
 * - silence first: `th1`'s expire_after (10 min) is longer: its silence is told `missing data` first, and its state
 *   expiring later opens nothing more: the missing-data episode stays the one episode, its stream's retained state
 *   (Home Assistant's problem entity) carries it, one resolve at its next state. On main a second episode,
 *   `device_offline`, opened for the same silence, which the problem entity never showed (it kept the missing data).
 * - the same of a zigbee2mqtt plug's own availability `offline` arriving after its silence was told (a late word of
 *   any preset: a Tasmota LWT, an ESPHome last will): nothing more;
 * - across a restart (a clean stop, the device still silent, its entity's expiry judged again from the connection's
 *   start): still nothing more; each device's one episode is resolved once, at its next state.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { builtAndModelsPresent, inProcessConfig } from '../helpers/daemon.js';
import { tempDataDir, useCleanups, type VirtualRun, virtualRun } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;
/** Readings of each sensor before the silence: past learnReadings (256), its 1 s interval learnt. */
const N = 400;

const cleanups = useCleanups();

const TH1_CONFIG = ['homeassistant/sensor/th1/config', { stat_t: 'office/th1/state', unit_of_meas: '°C', val_tpl: '{{ value_json.temperature }}', exp_aft: 600 }] as const;
const TH2_CONFIG = ['homeassistant/sensor/th2/config', { stat_t: 'office/th2/state', unit_of_meas: '°C', val_tpl: '{{ value_json.temperature }}', exp_aft: 30 }] as const;

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));
/** Each alert's stream, event and kind, opens and resolves only (a silence's updates tell it longer). */
const told = (alerts: readonly AlertPayload[]): unknown[] => alerts.filter((a) => a.event !== 'update').map((a) => [a.sensor, a.event, a.explanation?.kind ?? null]);

/** The retained state of `stream` (anomalyd/state/<stream>) on `url`. */
async function stateOf(url: string, stream: string): Promise<{ status?: string; anomaly_id?: string; kind?: string }> {
  const c = await mqtt.connectAsync(url, { clientId: `expire-silence-state-${process.pid}-${stream}` });
  try {
    const got = new Promise<{ anomaly_id?: string; kind?: string }>((resolve) => c.on('message', (_t, p) => resolve(JSON.parse(p.toString('utf8')) as { anomaly_id?: string })));
    await c.subscribeAsync(`anomalyd/state/${stream}`, { qos: 1 });
    return await got;
  } finally {
    await c.endAsync();
  }
}

describe.skipIf(!builtAndModelsPresent())('a discovered entity whose expire_after comes after its silence is told', () => {
  it('keeps the missing-data episode as the one episode (no device_offline after it, nor after a late zigbee2mqtt availability), its problem entity telling it, across a restart; a shorter expire_after is the device’s episode', async () => {
    const dataDir = tempDataDir('anomalyd-expire-silence-', cleanups);
    const config = inProcessConfig(dataDir, { ingest: { presets: ['homeassistant', 'zigbee2mqtt'], timezone: 'UTC' }, store: { commitIntervalMs: 0 } });
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const run = (tag: string): Promise<VirtualRun> => virtualRun(config, clock, `expire-silence-${tag}`, alerts, cleanups);
    const first = await run('1');
    for (const [topic, body] of [TH1_CONFIG, TH2_CONFIG]) await first.hub.publishAsync(topic, JSON.stringify(body), { qos: 1, retain: true });
    const rnd = lcg(29);
    const state = (): string => JSON.stringify({ temperature: Math.round((21 + 0.3 * (rnd() - 0.5)) * 100) / 100 });
    const plug = (): string => JSON.stringify({ power: Math.round((60 + 2 * (rnd() - 0.5)) * 10) / 10 });
    for (let i = 0; i < N; i++) {
      now += SEC;
      await first.send('office/th1/state', state());
      await first.send('office/th2/state', state());
      await first.send('zigbee2mqtt/kitchen/plug', plug());
    }
    await settle();
    expect(alerts).toEqual([]);

    // Both stop. 90 s on: th2's state expired (30 s) before its silence would be told: its device's episode; th1's
    // silence is told missing data (its state expires only after 10 min).
    now += 90 * SEC;
    first.daemon.judgeSilences();
    await waitFor(() => alerts.length >= 3, 10_000, 'the three silences told');
    await settle();
    const opened = [
      ['kitchen/plug/power', 'open', 'missing_data'],
      ['th1', 'open', 'missing_data'],
      ['th2', 'open', 'device_offline'],
    ];
    expect(told(alerts).sort()).toEqual(opened);
    const missing = alerts.find((a) => a.sensor === 'th1')!;
    const offline = alerts.find((a) => a.sensor === 'th2')!;
    const plugMissing = alerts.find((a) => a.sensor === 'kitchen/plug/power')!;
    expect(offline.explanation?.sentence).toContain('(no state on office/th2/state for 30 s, its expire_after)');

    // The zigbee2mqtt plug's own availability arriving late (after its silence was told): nothing more (on main: a
    // kitchen/plug device_offline).
    await first.hub.publishAsync('zigbee2mqtt/kitchen/plug/availability', '{"state":"offline"}', { qos: 1, retain: true });
    await settle();
    expect(told(alerts).sort()).toEqual(opened);

    // 11 minutes on: th1's state expired too, after its silence was told: nothing more (on main: th1 device_offline).
    now += 11 * MIN;
    first.daemon.judgeSilences();
    await settle();
    first.daemon.judgeSilences();
    await settle();
    expect(told(alerts).sort()).toEqual(opened);
    // Its problem entity tells the alerted episode: the missing data, not a device_offline no alert told.
    const th1State = await stateOf(first.daemon.brokerUrl!, 'th1');
    expect(th1State.anomaly_id).toBe(missing.anomaly_id);
    expect(th1State.kind).toBeUndefined();
    expect((await stateOf(first.daemon.brokerUrl!, 'th2')).anomaly_id).toBe(offline.anomaly_id);
    expect(first.daemon.database!.listAnomalies({ device: 'th1', limit: 20 }).map((a) => [a.id, a.status, a.explanation?.kind])).toEqual([[missing.anomaly_id, 'open', 'missing_data']]);

    // A clean stop; the device still silent. After the start its entity's expiry is judged again, from the
    // connection's start: th1's silence is still the told one, restored open; nothing new.
    await first.stop();
    now += MIN;
    const second = await run('2');
    for (const [topic, body] of [TH1_CONFIG, TH2_CONFIG]) await second.hub.publishAsync(topic, JSON.stringify(body), { qos: 1, retain: true });
    now += 11 * MIN;
    second.daemon.judgeSilences();
    await settle();
    second.daemon.judgeSilences();
    await settle();
    expect(told(alerts).sort()).toEqual(opened);
    expect(second.daemon.database!.listAnomalies({ device: 'th1', limit: 20 }).map((a) => [a.id, a.status])).toEqual([[missing.anomaly_id, 'open']]);
    expect((await stateOf(second.daemon.brokerUrl!, 'th1')).anomaly_id).toBe(missing.anomaly_id);

    // Both back: one resolve each, of the one episode each.
    now += SEC;
    await second.send('office/th1/state', state());
    await second.send('office/th2/state', state());
    await second.send('zigbee2mqtt/kitchen/plug', plug());
    await waitFor(() => told(alerts).length >= 6, 10_000, 'the three resolves');
    await settle();
    expect(told(alerts).sort()).toEqual([
      ['kitchen/plug/power', 'open', 'missing_data'],
      ['kitchen/plug/power', 'resolve', 'missing_data'],
      ['th1', 'open', 'missing_data'],
      ['th1', 'resolve', 'missing_data'],
      ['th2', 'open', 'device_offline'],
      ['th2', 'resolve', 'device_offline'],
    ]);
    expect(alerts.filter((a) => a.event === 'resolve').map((a) => a.anomaly_id).sort()).toEqual([missing.anomaly_id, offline.anomaly_id, plugMissing.anomaly_id].sort());
    expect(second.daemon.database!.listAnomalies({ device: 'th1', limit: 20 }).map((a) => [a.id, a.status])).toEqual([[missing.anomaly_id, 'resolved']]);
  }, 180_000);
});
