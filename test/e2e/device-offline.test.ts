/**
 * A device that says it is offline (tryout 16, finding 7): an ESPHome node's last will `<topic_prefix>/status`
 * `offline`, sent by the broker itself when the node's connection dies, is told as ONE episode of the device (kind
 * `device_offline`) instead of one missing-data episode per stream, resolved when the node says `online`; its
 * streams' silence is not judged meanwhile, nor counted from before its return, nor taught at their next readings.
 * The daemon in-process with an injected wall clock (virtual time, as test/e2e/silence.test.ts), a real SQLite file,
 * and a real broker: the embedded one, and mosquitto; the node is a real MQTT client with ESPHome's will and birth.
 * zigbee2mqtt's, Tasmota's and a Shelly's word (their availability topics and payloads) open and resolve the device's
 * episode alike (embedded broker).
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent, evictedSensors } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { brokerCases, brokerUrlFor } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
const MIN = 60 * SEC;
const CHANNELS = 4;
const N = 1500;

const cleanups = useCleanups();

/** The daemon with `presets` (esphome) on `dataDir` (on `brokerUrl`, else the embedded broker), started, its alerts into `alerts`. */
async function started(dataDir: string, clock: () => number, alerts: AlertPayload[], brokerUrl: string | null, presets: readonly string[] = ['esphome']): Promise<{ daemon: Daemon; url: string }> {
  const overrides = { ingest: { presets: [...presets] }, http: { enabled: false } };
  const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock, cleanups });
  await collectAlerts(url, `devoff-sub-${process.pid}-${alerts.length}`, cleanups, alerts);
  return { daemon, url };
}

/**
 * An ESPHome node `esp-power` as ESPHome connects: its last will `esp-power/status` `offline` (retained), then its birth
 * `online`. One connection: a node that dies (its stream destroyed) does not come back by itself (mqtt.js would
 * reconnect it with the same client id, take the session of the node started after it, and have the broker publish the
 * later one's will: `offline` once the device was back, its streams' silence then not judged; a flaky last check of
 * the twelfth session).
 */
async function espNode(url: string): Promise<mqtt.MqttClient> {
  const esp = await mqtt.connectAsync(url, {
    clientId: `esp-power-${process.pid}`,
    keepalive: 15,
    reconnectPeriod: 0,
    will: { topic: 'esp-power/status', payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  cleanups.push(() => esp.endAsync(true));
  await esp.publishAsync('esp-power/status', 'online', { qos: 1, retain: true });
  return esp;
}

/** N readings of each channel, 1 Hz, ending at `end`: history sent as bursts on the channels' state topics. */
async function sendHistory(pub: mqtt.MqttClient, end: number): Promise<void> {
  const rnd = lcg(7);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  for (let c = 1; c <= CHANNELS; c++) {
    const values = Array.from({ length: N }, () => Math.round((100 * c + 2 * gauss()) * 10) / 10);
    for (let i = 0; i < N; i += 250) {
      await pub.publishAsync(`esp-power/sensor/ch${c}_power/state`, JSON.stringify({ values: values.slice(i, i + 250), ts: end - (N - 1 - i) * SEC, interval_ms: SEC }), { qos: 1 });
    }
  }
}

const cases = brokerCases();

describe.skipIf(!builtAndModelsPresent())('a device that says it is offline', () => {
  it.each(cases)('(%s) is one device_offline episode, not a missing-data episode per stream; resolved when it says online; its streams neither judged silent meanwhile nor at their return', async (_name, available) => {
    if (!available) return;
    const dataDir = tempDataDir('anomalyd-devoff-', cleanups);
    const brokerUrl = await brokerUrlFor(_name, cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, url } = await started(dataDir, clock, alerts, brokerUrl);
    let esp = await espNode(url);
    await sendHistory(esp, now);
    await waitFor(() => daemon.counters.scored >= CHANNELS * N, 60_000, 'every reading scored');
    expect(alerts).toEqual([]);

    // The node dies: its connection drops without a DISCONNECT, and the broker publishes its last will.
    now += 20 * SEC;
    esp.stream.destroy();
    await waitFor(() => alerts.length > 0, 20_000, 'the device episode');
    const open = alerts[0];
    expect(open).toMatchObject({ event: 'open', sensor: 'esp-power', explanation: { kind: 'device_offline', stream: 'esp-power' } });
    expect(open.explanation?.sentence).toMatch(/^esp-power offline since \d\d:\d\d \(the device said so on esp-power\/status\), 4 streams silent \(device offline\)$/);
    // Listed under the device with its streams' episodes (anomalies list --device, GET /api/anomalies?device=).
    expect(daemon.database!.listAnomalies({ device: 'esp-power', limit: 10 }).map((a) => [a.sensor, a.status, a.explanation?.kind])).toEqual([['esp-power', 'open', 'device_offline']]);

    // Five minutes dead: every stream's silence is far past rare, yet none is told on its own (on main: 4 missing-data episodes).
    now += 5 * MIN;
    daemon.judgeSilences();
    await new Promise((r) => setTimeout(r, 300));
    expect(alerts.map((a) => [a.sensor, a.event])).toEqual([['esp-power', 'open']]);

    // It comes back: its birth message resolves the episode.
    esp = await espNode(url);
    await waitFor(() => alerts.length > 1, 10_000, 'the device episode resolved');
    expect(alerts[1]).toMatchObject({ event: 'resolve', anomaly_id: open.anomaly_id, sensor: 'esp-power', explanation: { kind: 'device_offline' } });
    expect(alerts[1].explanation?.sentence).toMatch(/; online again at \d\d:\d\d, after 5 min \(device offline\)$/);
    // Back 10 s and not read yet: its streams' silence counts from its return, not from their last reading 5 min ago.
    now += 10 * SEC;
    daemon.judgeSilences();
    // Their next readings: the gap was the device's, neither judged nor taught.
    for (let c = 1; c <= CHANNELS; c++) await esp.publishAsync(`esp-power/sensor/ch${c}_power/state`, (100 * c).toFixed(1), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= CHANNELS * (N + 1), 10_000, 'the readings after the return scored');
    await new Promise((r) => setTimeout(r, 300));
    expect(alerts.map((a) => [a.sensor, a.event, a.explanation?.kind])).toEqual([
      ['esp-power', 'open', 'device_offline'],
      ['esp-power', 'resolve', 'device_offline'],
    ]);
    // A stream that then falls silent on its own (no word from the device) is told as before: a missing-data episode.
    for (let i = 0; i < 30; i++) {
      now += SEC;
      for (let c = 1; c <= CHANNELS - 1; c++) await esp.publishAsync(`esp-power/sensor/ch${c}_power/state`, (100 * c + (i % 3)).toFixed(1), { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= CHANNELS * (N + 1) + 30 * (CHANNELS - 1), 10_000, 'the other channels read');
    now += 5 * MIN;
    daemon.judgeSilences();
    await waitFor(() => alerts.some((a) => a.sensor === `esp-power/ch${CHANNELS}_power`), 10_000, 'the silence of the stream that died alone');
    expect(alerts.find((a) => a.sensor === `esp-power/ch${CHANNELS}_power`)?.explanation?.kind).toBe('missing_data');
  }, 180_000);

  it('an episode open at a stop goes on after the restart (not resolved as orphaned), and the first reading of its device resolves it', async () => {
    const dataDir = tempDataDir('anomalyd-devoff-restart-', cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    let { daemon, url } = await started(dataDir, clock, alerts, null);
    const esp = await espNode(url);
    await sendHistory(esp, now);
    await waitFor(() => daemon.counters.scored >= CHANNELS * N, 60_000, 'every reading scored');
    now += 20 * SEC;
    await esp.publishAsync('esp-power/status', 'offline', { qos: 1, retain: true });
    await waitFor(() => alerts.length > 0, 10_000, 'the device episode');
    const id = alerts[0].anomaly_id;
    await daemon.stop();
    now += 2 * MIN;
    // The embedded broker's retained messages die with it: after the restart nothing says offline again.
    ({ daemon, url } = await started(dataDir, clock, alerts, null));
    expect(daemon.database!.getAnomaly(id)?.status).toBe('open');
    now += 5 * MIN;
    daemon.judgeSilences();
    await new Promise((r) => setTimeout(r, 300));
    expect(alerts.map((a) => [a.sensor, a.event])).toEqual([['esp-power', 'open']]);
    const pub = await mqtt.connectAsync(url, { clientId: `devoff-pub-${process.pid}` });
    cleanups.push(() => pub.endAsync());
    await pub.publishAsync('esp-power/sensor/ch1_power/state', '100.0', { qos: 1 });
    await waitFor(() => alerts.length > 1, 10_000, 'resolved by a reading');
    expect(alerts[1]).toMatchObject({ event: 'resolve', anomaly_id: id });
    expect(alerts[1].explanation?.sentence).toMatch(/; readings again at \d\d:\d\d, after 7 min \(device offline\)$/);
  }, 180_000);

  it.each([
    ['zigbee2mqtt', 'zigbee2mqtt/kitchen/plug', '{"power":61,"voltage":230.1,"linkquality":90}', 'kitchen/plug', 'zigbee2mqtt/kitchen/plug/availability', '{"state":"offline"}', '{"state":"online"}', 2],
    ['tasmota', 'tele/garden/SENSOR', '{"BME280":{"Temperature":21.5,"Humidity":40.2},"TempUnit":"C"}', 'garden', 'tele/garden/LWT', 'Offline', 'Online', 2],
    ['shelly', 'shellyplus1pm-a8032ab1/status/switch:0', '{"id":0,"apower":55.2,"voltage":229.8}', 'shellyplus1pm-a8032ab1', 'shellyplus1pm-a8032ab1/online', 'false', 'true', 2],
  ])('%s: its own offline and online open and resolve one episode of the device', async (preset, topic, payload, device, availability, offline, online, streams) => {
    const dataDir = tempDataDir(`anomalyd-devoff-${preset}-`, cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    const { daemon, url } = await started(dataDir, clock, alerts, null, [preset]);
    const hub = await mqtt.connectAsync(url, { clientId: `devoff-${preset}-${process.pid}` });
    cleanups.push(() => hub.endAsync(true));
    for (let i = 0; i < 3; i++) {
      now += 10 * SEC;
      await hub.publishAsync(topic, payload, { qos: 1 });
    }
    await waitFor(() => daemon.counters.scored >= 3 * streams, 10_000, 'its readings scored');
    now += 30 * SEC;
    await hub.publishAsync(availability, offline, { qos: 1, retain: true });
    await waitFor(() => alerts.length > 0, 10_000, 'the device episode');
    expect(alerts[0]).toMatchObject({ event: 'open', sensor: device, explanation: { kind: 'device_offline' } });
    expect(alerts[0].explanation?.sentence).toMatch(new RegExp(`^${device} offline since \\d\\d:\\d\\d \\(the device said so on ${availability}\\), ${streams} streams silent \\(device offline\\)$`));
    // Twelve hours offline, past its streams' idle span (limits.idleAfterIntervals of 10 s): kept while the device's
    // episode is open, as with an episode of their own (their problem entities tell it; before: evicted, the entities
    // removed while the device was still offline).
    now += 12 * 60 * MIN;
    daemon.housekeep();
    expect(evictedSensors(daemon)).toEqual([]);
    now += 2 * MIN;
    await hub.publishAsync(availability, online, { qos: 1, retain: true });
    await waitFor(() => alerts.length > 1, 10_000, 'the device episode resolved');
    expect(alerts.map((a) => [a.sensor, a.event, a.anomaly_id])).toEqual([
      [device, 'open', alerts[0].anomaly_id],
      [device, 'resolve', alerts[0].anomaly_id],
    ]);
    expect(daemon.database!.listAnomalies({ device, limit: 10 }).map((a) => [a.status, a.explanation?.kind])).toEqual([['resolved', 'device_offline']]);
  }, 60_000);
});
