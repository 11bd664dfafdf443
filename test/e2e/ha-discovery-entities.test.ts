/**
 * Home Assistant MQTT discovery with the homeassistant preset, through the daemon in-process and a real broker (the
 * embedded one, and mosquitto when installed), a real SQLite file (tryout 25, finding 8). On main the preset read
 * `homeassistant/sensor/+/state` only: a device announced by a retained discovery config whose state topic is its own
 * (`office/th1/state`: Tasmota with SetOption19, OpenMQTTGateway, an ESP board) gave no stream and no rejection, and the
 * unit of a config was never attached.
 *
 * - Retained configs published before the daemon starts (mosquitto: the embedded broker starts with the daemon, so
 *   there they come right after it, as a device's at its connection) and one published while it runs: the states on
 *   their own topics become streams with the config's unit (`/api/sensors`).
 * - A config whose value_template anomalyd does not read: its states counted `unread_template`, warned once.
 * - An emptied retained config (the entity deleted): the topic unsubscribed, its states no longer received.
 * - anomalyd's own entities: an on/off stream (the door) gets no score entity (its config published empty: it has no
 *   score; tryout 40, finding 11), a numeric one does.
 * - A restart keeps them: mosquitto replays the retained configs; on the embedded broker (its retained messages die
 *   with the daemon) the device announces again when it reconnects, as devices do.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { objectIdOf } from '../../src/contract/ha-discovery.js';
import type { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { capturingLogger, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { brokerCases, brokerUrlFor } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';


const cleanups = useCleanups();

const TH1_CONFIG = ['homeassistant/sensor/th1/config', { name: 'TH1 temperature', stat_t: 'office/th1/state', unit_of_meas: '°C', val_tpl: '{{ value_json.temperature }}', uniq_id: 'th1_t' }] as const;
const DOOR_CONFIG = ['homeassistant/binary_sensor/omg/door/config', { '~': 'home/OMG/', stat_t: '~door', val_tpl: '{{ value_json.contact }}', pl_on: 'open', pl_off: 'closed' }] as const;
const ODD_CONFIG = ['homeassistant/sensor/th3/config', { stat_t: 'office/th3/state', unit_of_meas: '°C', val_tpl: '{{ value_json.t * 0.1 }}' }] as const;
const LATE_CONFIG = ['homeassistant/sensor/esp/pressure/config', { state_topic: 'diy/esp/pressure', unit_of_measurement: 'hPa', value_template: '{{ value | float | round(1) }}' }] as const;

type Sensors = { sensors: { sensor: string; unit: string | null }[] };
type Status = { counters: Record<string, number>; rejections: Record<string, number> };

describe.skipIf(!builtAndModelsPresent())('homeassistant preset: discovery entities on their own state topics', () => {
  it.each(brokerCases('embedded'))('(%s broker) configs before and after the start, units, an unreadable template, a deleted config, a restart', async (name, available) => {
    if (!available) return;
    const dataDir = tempDataDir('anomalyd-ha-disc-', cleanups);
    const brokerUrl = await brokerUrlFor(name, cleanups);
    const httpPort = await freePort();
    const http = `http://127.0.0.1:${httpPort}`;
    const overrides = { ingest: { presets: ['homeassistant'], timezone: 'UTC' }, http: { port: httpPort, host: '127.0.0.1' }, store: { commitIntervalMs: 0 }, homeassistant: { discovery: 'on' as const } };
    const connect = async (url: string, id: string): Promise<MqttClient> => {
      const c = await mqtt.connectAsync(url, { clientId: `ha-disc-${id}-${name}-${process.pid}` });
      cleanups.push(() => c.endAsync(true));
      return c;
    };
    const announce = async (c: MqttClient, configs: readonly (readonly [string, object])[]): Promise<void> => {
      for (const [topic, config] of configs) await c.publishAsync(topic, JSON.stringify(config), { qos: 1, retain: true });
    };
    // Retained configs before the daemon: on mosquitto, published and left there.
    if (brokerUrl !== null) {
      const early = await connect(brokerUrl, 'early');
      await announce(early, [TH1_CONFIG, DOOR_CONFIG, ODD_CONFIG]);
      await early.endAsync();
    }
    const log = capturingLogger();
    let daemon: Daemon;
    let url: string;
    ({ daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock: null, logger: log.logger, cleanups }));
    const device = await connect(url, 'device');
    // anomalyd's own score entities' configs, as Home Assistant receives them.
    const scoreConfigs = new Map<string, string>();
    const ha = await connect(url, 'ha');
    ha.on('message', (topic, payload) => {
      for (const stream of ['th1', 'omg/door']) if (topic.endsWith(`/${objectIdOf(stream)}/config`)) scoreConfigs.set(stream, payload.toString());
    });
    await ha.subscribeAsync('homeassistant/sensor/+/+/config', { qos: 1 });
    if (brokerUrl === null) await announce(device, [TH1_CONFIG, DOOR_CONFIG, ODD_CONFIG]);
    const sensors = async (): Promise<Sensors['sensors']> => ((await (await fetch(`${http}/api/sensors`)).json()) as Sensors).sensors;
    const status = async (): Promise<Status> => (await (await fetch(`${http}/api/status`)).json()) as Status;
    const unitOf = async (stream: string): Promise<string | null | undefined> => (await sensors()).find((s) => s.sensor === stream)?.unit;
    /** Sends a state every 100 ms (as a device's telemetry) until `stream` has `n` readings more than before. */
    const sendUntilRead = async (d: Daemon, c: MqttClient, topic: string, payload: () => string, stream: string, what: string): Promise<void> => {
      const before = d.counters.readings;
      await waitFor(
        async () => {
          await c.publishAsync(topic, payload(), { qos: 1 });
          await new Promise((r) => setTimeout(r, 100));
          return d.counters.readings > before && (await sensors()).some((s) => s.sensor === stream);
        },
        20_000,
        what,
      );
    };
    let k = 0;
    const th1 = (): string => JSON.stringify({ temperature: 20 + 0.1 * (k++ % 7), humidity: 40 });
    await sendUntilRead(daemon, device, 'office/th1/state', th1, 'th1', 'th1 read on its own state topic');
    for (let i = 0; i < 4; i++) await device.publishAsync('office/th1/state', th1(), { qos: 1 });
    await sendUntilRead(daemon, device, 'home/OMG/door', () => JSON.stringify({ contact: k++ % 2 === 0 ? 'open' : 'closed' }), 'omg/door', 'the door read');
    for (let i = 0; i < 3; i++) await device.publishAsync('home/OMG/door', JSON.stringify({ contact: k++ % 2 === 0 ? 'open' : 'closed' }), { qos: 1 });
    expect(await unitOf('th1')).toBe('°C');
    // The door, an on/off stream, has no score: its score entity's config is empty (tryout 40, finding 11); th1's is not.
    await waitFor(() => scoreConfigs.has('th1') && scoreConfigs.has('omg/door'), 10_000, 'both streams announced');
    expect(scoreConfigs.get('omg/door')).toBe('');
    expect(JSON.parse(scoreConfigs.get('th1')!)).toMatchObject({ state_class: 'measurement' });

    // A config published while the daemon runs.
    await announce(device, [LATE_CONFIG]);
    await sendUntilRead(daemon, device, 'diy/esp/pressure', () => (1013.24 + (k++ % 3)).toFixed(2), 'esp/pressure', 'esp/pressure read');
    expect(await unitOf('esp/pressure')).toBe('hPa');

    // The unreadable template: counted, warned once naming the entity and the template.
    for (let i = 0; i < 3; i++) await device.publishAsync('office/th3/state', JSON.stringify({ t: 215 + i }), { qos: 1 });
    await waitFor(async () => ((await status()).rejections.unread_template ?? 0) >= 3, 10_000, 'unread_template counted');
    const warns = log.lines.filter((l) => l.level === 40 && l.msg.includes('th3'));
    expect(warns).toHaveLength(1);
    expect(warns[0].msg).toContain('{{ value_json.t * 0.1 }}');
    expect((await sensors()).some((s) => s.sensor === 'th3')).toBe(false);

    // The deleted config: its state topic unsubscribed, a state on it no longer received.
    await device.publishAsync(LATE_CONFIG[0], '', { qos: 1, retain: true });
    await waitFor(() => !(daemon as unknown as { mqtt: { addedTopics: ReadonlySet<string> } }).mqtt.addedTopics.has('diy/esp/pressure'), 10_000, 'unsubscribed');
    // mqtt.js has sent the UNSUBSCRIBE; a round trip of the device's own (a QoS 1 publish) before the test state.
    await device.publishAsync('office/th1/state', th1(), { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const received = daemon.counters.received;
    await device.publishAsync('diy/esp/pressure', '1015.5', { qos: 1 });
    await device.publishAsync('office/th1/state', th1(), { qos: 1 });
    await waitFor(() => daemon.counters.received > received, 10_000, 'the th1 state after it');
    await new Promise((r) => setTimeout(r, 300));
    expect(daemon.counters.received).toBe(received + 1);

    // A restart keeps them.
    await daemon.stop();
    ({ daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock: null, cleanups }));
    const again = await connect(url, 'again');
    // The embedded broker's retained configs died with the daemon: the device announces again at its connection.
    if (brokerUrl === null) await announce(again, [TH1_CONFIG]);
    const readingsBefore = daemon.counters.readings;
    await sendUntilRead(daemon, again, 'office/th1/state', th1, 'th1', 'th1 read after the restart');
    expect(daemon.counters.readings).toBeGreaterThan(readingsBefore);
    expect(await unitOf('th1')).toBe('°C');
    // The deleted entity stays deleted (mosquitto replays no emptied config).
    const s = await status();
    expect(s.rejections.bad_topic ?? 0).toBe(0);
  }, 120_000);
});
