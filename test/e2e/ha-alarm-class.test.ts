/**
 * A Home Assistant binary_sensor of an alarm device class is an alarm field, and an on/off stream holding its active
 * state is never evicted as idle (tryout 32: `mosquitto_pub -t homeassistant/binary_sensor/bath_leak/state -m on` after
 * three `off`: no alert; the sensor was then evicted while still on and left the sensor list).
 *
 * - Where Home Assistant states the class: a discovery config (`device_class: moisture`) whose state topic the
 *   ha_statestream preset reads (`bath_leak`), a discovery config in ESPHome's abbreviated keys (`dev_cla: smoke`)
 *   whose state topic no rule reads (the homeassistant preset's entity `kitchen_smoke`), and statestream's attribute
 *   topic `homeassistant/binary_sensor/hall_leak/device_class` `"moisture"`. Each is told at its first `on`, in its
 *   learning period, in its class's words: `bath_leak leak since 08:40 (alarm)`. On main: nothing.
 * - A door (no class) left `on`, and the leaks, stay listed long past their idle span while a numeric stream that went
 *   quiet is evicted in the same sweeps. On main: evicted.
 *
 * The daemon in-process with a virtual clock (housekeeping's sweep runs within 2 s, as it does), a real SQLite file,
 * learning on, the embedded broker.
 */
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups, scoringHub } from '../helpers/in-process.js';
import { freePort, waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;

const cleanups = useCleanups();

type Sensors = { sensors: { sensor: string; onOff?: { on: string; state: string | null; alarm: boolean } }[] };

describe.skipIf(!builtAndModelsPresent())('Home Assistant alarm device classes; an on/off stream held on is not evicted', () => {
  it('a leak (discovery config, abbreviated config, statestream attribute) is told at its first `on`; held on, nothing is evicted', async () => {
    const dataDir = tempDataDir('anomalyd-ha-alarm-', cleanups);
    const httpPort = await freePort();
    const http = `http://127.0.0.1:${httpPort}`;
    let now = Math.floor(Date.now() / 1000) * 1000 - 1440 * MIN;
    const overrides = {
      ingest: { presets: ['homeassistant', 'ha_statestream'], timezone: 'UTC' },
      http: { port: httpPort, host: '127.0.0.1' },
      learning: { enabled: true },
      store: { commitIntervalMs: 0 },
      limits: { idleAfterIntervals: 10, idleAfterMinMs: 5 * MIN },
      // No young death told here (a stream in its learning period silent for learningSilenceMs is otherwise kept from
      // eviction until its death is told: Detector.youngDeathMs), so ctl's idle span is what evicts it.
      window: { learningSilenceMs: 0 },
    };
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides, clock: () => now, cleanups });
    const alerts: AlertPayload[] = await collectAlerts(url, `ha-alarm-sub-${process.pid}`, cleanups);
    const { hub, send } = await scoringHub(daemon, url, `ha-alarm-hub-${process.pid}`, cleanups);
    const sensors = async (): Promise<Sensors['sensors']> => ((await (await fetch(`${http}/api/sensors`)).json()) as Sensors).sensors;

    const configs: [string, object][] = [
      ['homeassistant/binary_sensor/bath_leak/config', { name: 'Bath leak', device_class: 'moisture', state_topic: 'homeassistant/binary_sensor/bath_leak/state', payload_on: 'on', payload_off: 'off' }],
      ['homeassistant/binary_sensor/kitchen_smoke/config', { name: 'Kitchen smoke', dev_cla: 'smoke', stat_t: 'home/kitchen/smoke' }],
    ];
    for (const [topic, config] of configs) await hub.publishAsync(topic, JSON.stringify(config), { qos: 1, retain: true });
    await hub.publishAsync('homeassistant/binary_sensor/hall_leak/device_class', '"moisture"', { qos: 1, retain: true });
    // kitchen_smoke's config is an entity of its own (its state topic subscribed at run time).
    await waitFor(async () => ((await (await fetch(`${http}/api/status`)).json()) as { discovery?: { entities: number } }).discovery?.entities === 1, 10_000, 'the entity config read');

    const states: [string, string, string][] = [
      ['bath_leak', 'homeassistant/binary_sensor/bath_leak/state', 'on'],
      ['kitchen_smoke', 'home/kitchen/smoke', 'ON'],
      ['hall_leak', 'homeassistant/binary_sensor/hall_leak/state', 'on'],
      ['front_door', 'homeassistant/binary_sensor/front_door/state', 'on'],
    ];
    // Three `off` each, a minute apart, and a numeric stream beside them.
    for (let k = 0; k < 3; k++) {
      now += MIN;
      for (const [, topic, on] of states) await send(topic, on === 'ON' ? 'OFF' : 'off');
      await send('homeassistant/sensor/ctl/state', String(20 + k / 10));
    }
    expect(alerts).toEqual([]);
    // The leaks, the smoke and the door go on.
    now += MIN;
    for (const [, topic, on] of states) await send(topic, on);
    const told = (s: string): AlertPayload | undefined => alerts.find((a) => a.sensor === s && a.event === 'open');
    await waitFor(() => told('bath_leak') !== undefined && told('kitchen_smoke') !== undefined && told('hall_leak') !== undefined, 10_000, 'the three alarms told');
    expect(told('bath_leak')?.explanation).toMatchObject({ kind: 'alarm', value: 1 });
    expect(told('bath_leak')?.explanation?.sentence).toMatch(/^bath_leak leak since \d\d:\d\d \(alarm\)$/);
    expect(told('kitchen_smoke')?.explanation?.sentence).toMatch(/^kitchen_smoke smoke since \d\d:\d\d \(alarm\)$/);
    expect(told('hall_leak')?.explanation?.sentence).toMatch(/^hall_leak leak since \d\d:\d\d \(alarm\)$/);
    // One each, and nothing of the door (a door's `on` is no alarm) nor of the numeric stream.
    expect(alerts.map((a) => `${a.event} ${a.sensor}`).sort()).toEqual(['open bath_leak', 'open hall_leak', 'open kitchen_smoke']);
    const listed = await sensors();
    expect(listed.find((s) => s.sensor === 'bath_leak')?.onOff).toMatchObject({ on: 'leak', state: 'leak', alarm: true });
    expect(listed.find((s) => s.sensor === 'front_door')?.onOff).toMatchObject({ on: 'on', state: 'on', alarm: false });

    // An hour with nothing sent (each past its idle span many times over): ctl is evicted, the streams held on are not.
    now += 60 * MIN;
    await waitFor(async () => !(await sensors()).some((s) => s.sensor === 'ctl'), 10_000, 'ctl evicted');
    // Two more sweeps at that time (housekeeping runs every second or so).
    await new Promise((r) => setTimeout(r, 2500));
    expect((await sensors()).map((s) => s.sensor).sort()).toEqual(['bath_leak', 'front_door', 'hall_leak', 'kitchen_smoke']);
    expect(daemon.counters.scored).toBeGreaterThan(0);
  }, 120_000);

  it('an ESPHome leak sensor (the esphome preset alone, its discovery config `dev_cla: moisture`) is told at its first `ON`', async () => {
    const dataDir = tempDataDir('anomalyd-esp-alarm-', cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000 - 1440 * MIN;
    const overrides = { ingest: { presets: ['esphome'], timezone: 'UTC' }, http: { port: 0, host: '127.0.0.1' }, learning: { enabled: true }, store: { commitIntervalMs: 0 } };
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides, clock: () => now, cleanups });
    const alerts: AlertPayload[] = await collectAlerts(url, `esp-alarm-sub-${process.pid}`, cleanups);
    const { hub, send } = await scoringHub(daemon, url, `esp-alarm-hub-${process.pid}`, cleanups);
    // ESPHome's config (esphome.io, "MQTT Client Component": discovery on by default, abbreviated keys).
    await hub.publishAsync('homeassistant/binary_sensor/leakesp/leak/config', JSON.stringify({ name: 'Leak', dev_cla: 'moisture', stat_t: 'leakesp/binary_sensor/leak/state', uniq_id: 'leakesp_leak' }), { qos: 1, retain: true });
    for (let k = 0; k < 3; k++) {
      now += MIN;
      await send('leakesp/binary_sensor/leak/state', 'OFF');
    }
    expect(alerts).toEqual([]);
    now += MIN;
    await send('leakesp/binary_sensor/leak/state', 'ON');
    await waitFor(() => alerts.some((a) => a.sensor === 'leakesp/leak'), 10_000, 'the leak told');
    expect(alerts.map((a) => `${a.event} ${a.explanation?.sentence ?? ''}`)).toEqual([expect.stringMatching(/^open leakesp\/leak leak since \d\d:\d\d \(alarm\)$/)]);
  }, 60_000);
});
