/**
 * An on/off stream's held state is judged on the daemon's silence tick, and an alarm field is told at its first `true`
 * (branch `onoff4`):
 *
 * - A report-on-change device (an ESPHome binary_sensor: it sends only at a change) left in its active state sends
 *   nothing more, so a held state judged only at a reading was never told: on main, a door left open on it was never
 *   told `on for … (state held)`, and its silence was told `missing data` instead (a report-on-change stream's quiet
 *   is its state held, not its death). Judged on the tick, it is told once held longer than its learnt dwells allow,
 *   never as missing data, and resolved at the reading that says it changed.
 * - A leak sensor's first `water_leak: true` is told at once (`bath_leak/water_leak leak since 08:40 (alarm)`), one
 *   episode while it stays `true`, resolved when it says dry. On main: nothing (its values were not judged).
 * - A door left open across a restart (its open state's start from the checkpoint) is told after the restart though it
 *   never reads again, and the restart's deafness is not taught as a dwell (`never longer than 9 s before`, not 60 s).
 *   On main: nothing until its next opening.
 *
 * The daemon in-process with a virtual clock, a real SQLite file, learning on, a real broker (the embedded one, and
 * mosquitto when installed).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups, scoringHub, type VirtualRun, virtualRun } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { brokerCases, brokerUrlFor } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const SEC = 1000;
const MIN = 60 * SEC;
const ESP = 'esp-door/front_door';
const ESP_TOPIC = 'esp-door/binary_sensor/front_door/state';
const LEAK = 'bath_leak/water_leak';

const cleanups = useCleanups();

const line = (a: AlertPayload): string => `${a.event} ${a.sensor} ${a.explanation?.sentence ?? ''}`;

/**
 * A door used as a person does, on a report-on-change device: opened every 90 to 150 s for 4 to 9 s, `cycles` times,
 * the daemon's silence tick run every 10 s of the virtual clock between (as housekeeping does).
 */
async function use(cycles: number, rnd: () => number, clock: { now: number }, send: (topic: string, payload: string) => Promise<void>, tick: () => void): Promise<void> {
  for (let k = 0; k < cycles; k++) {
    const next = clock.now + Math.round((90 + 60 * rnd()) * SEC);
    while (clock.now + 10 * SEC < next) {
      clock.now += 10 * SEC;
      tick();
    }
    clock.now = next;
    await send(ESP_TOPIC, 'ON');
    clock.now += Math.round((4 + 5 * rnd()) * SEC);
    await send(ESP_TOPIC, 'OFF');
  }
}

describe.skipIf(!builtAndModelsPresent())('an on/off state held, judged on the silence tick; an alarm told at once', () => {
  it.each(brokerCases('embedded'))('(%s broker) an ESPHome door left on is told `on for … (state held)` on the tick, never as missing data, resolved when it says off', async (name, available) => {
    if (!available) return;
    const dataDir = tempDataDir('anomalyd-onoff-held-', cleanups);
    const brokerUrl = await brokerUrlFor(name, cleanups);
    const clock = { now: Math.floor(Date.now() / 1000) * 1000 - 2 * 1440 * MIN };
    const overrides = { ingest: { presets: ['esphome'], timezone: 'UTC' }, http: { port: 0, host: '127.0.0.1' }, learning: { enabled: true }, store: { commitIntervalMs: 0 } };
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl, overrides, clock: () => clock.now, cleanups });
    const alerts = await collectAlerts(url, `onoff-held-sub-${name}-${process.pid}`, cleanups);
    const { send } = await scoringHub(daemon, url, `onoff-held-hub-${name}-${process.pid}`, cleanups);
    // 140 openings (280 readings: past its learning period and its 8 dwells), each on for 4 to 9 s.
    await use(140, lcg(41), clock, send, () => daemon.judgeSilences());
    expect(alerts.map(line)).toEqual([]);

    // Left on: it sends nothing more. Told on the tick once held far longer than its openings, in its words.
    await send(ESP_TOPIC, 'ON');
    const openedAt = clock.now;
    for (let k = 0; k < 360 && !alerts.some((a) => a.sensor === ESP); k++) {
      clock.now += 10 * SEC;
      daemon.judgeSilences();
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => alerts.some((a) => a.sensor === ESP), 10_000, 'the door held on told');
    const held = alerts.find((a) => a.sensor === ESP)!;
    expect(held).toMatchObject({ event: 'open', explanation: { kind: 'stuck', value: 1 } });
    expect(held.explanation?.sentence).toMatch(/^esp-door\/front_door on for \d+ (s|min) since \d\d:\d\d, never longer than [4-9] s before \(stuck: state held\)$/);
    expect(clock.now - openedAt).toBeGreaterThan(20 * SEC);
    expect(clock.now - openedAt).toBeLessThan(30 * MIN);
    // Held on for an hour more: nothing else is told of it, never `missing data` (its quiet is the state held).
    for (let k = 0; k < 360; k++) {
      clock.now += 10 * SEC;
      daemon.judgeSilences();
      if (k % 60 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.filter((a) => a.sensor === ESP).map((a) => `${a.event} ${a.anomaly_id} ${a.explanation?.kind ?? ''}`)).toEqual(alerts.filter((a) => a.sensor === ESP).map((a) => `${a.event} ${held.anomaly_id} stuck`));
    // It says off: resolved at that reading.
    clock.now += 10 * SEC;
    await send(ESP_TOPIC, 'OFF');
    await waitFor(() => alerts.some((a) => a.sensor === ESP && a.event === 'resolve'), 10_000, 'the held door resolved at its off');
    const resolve = alerts.find((a) => a.sensor === ESP && a.event === 'resolve')!;
    expect(resolve).toMatchObject({ anomaly_id: held.anomaly_id, resolution: 'recovered' });
    expect(resolve.explanation?.sentence).toMatch(/^esp-door\/front_door on for (6\d|7\d) min since/);
    alerts.splice(0);

    // Used again, then shut (off) for two hours: its rest state's quiet is not told either.
    await use(10, lcg(43), clock, send, () => daemon.judgeSilences());
    for (let k = 0; k < 720; k++) {
      clock.now += 10 * SEC;
      daemon.judgeSilences();
      if (k % 60 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.map(line)).toEqual([]);
  }, 240_000);

  it('a leak sensor (zigbee2mqtt `water_leak`) is told at its first `true`, one episode while it leaks, resolved when it says dry', async () => {
    const dataDir = tempDataDir('anomalyd-onoff-leak-', cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000 - 1440 * MIN;
    const overrides = { ingest: { presets: ['zigbee2mqtt'], timezone: 'UTC' }, http: { port: 0, host: '127.0.0.1' }, learning: { enabled: true }, store: { commitIntervalMs: 0 } };
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides, clock: () => now, cleanups });
    const alerts = await collectAlerts(url, `onoff-leak-sub-${process.pid}`, cleanups);
    const { send } = await scoringHub(daemon, url, `onoff-leak-hub-${process.pid}`, cleanups);
    const leak = (wet: boolean): Promise<void> => send('zigbee2mqtt/bath_leak', JSON.stringify({ battery: 100, water_leak: wet, linkquality: 90, voltage: 3000 }));
    // Dry, checking in every 10 min for a day.
    for (let k = 0; k < 144; k++) {
      now += 10 * MIN;
      await leak(false);
    }
    expect(alerts.map(line)).toEqual([]);
    // A leak: told at once, at its first `true`.
    now += 3 * MIN;
    await leak(true);
    await waitFor(() => alerts.some((a) => a.sensor === LEAK), 10_000, 'the leak told');
    const told = alerts.find((a) => a.sensor === LEAK)!;
    expect(told).toMatchObject({ event: 'open', explanation: { kind: 'alarm', value: 1 } });
    expect(told.explanation?.sentence).toMatch(/^bath_leak\/water_leak leak since \d\d:\d\d \(alarm\)$/);
    // Still wet at its next reports: the same episode, nothing new opened.
    for (let k = 0; k < 20; k++) {
      now += MIN;
      await leak(true);
    }
    // Dry: resolved at that reading.
    now += MIN;
    await leak(false);
    await waitFor(() => alerts.some((a) => a.sensor === LEAK && a.event === 'resolve'), 10_000, 'the leak resolved');
    const leakAlerts = alerts.filter((a) => a.sensor === LEAK);
    expect(leakAlerts.filter((a) => a.event === 'open')).toHaveLength(1);
    expect(leakAlerts.every((a) => a.anomaly_id === told.anomaly_id)).toBe(true);
    const resolve = leakAlerts.find((a) => a.event === 'resolve')!;
    expect(resolve.resolution).toBe('recovered');
    expect(resolve.explanation?.sentence).toMatch(/^bath_leak\/water_leak leak for 2[01] min since (\d{4}-\d\d-\d\d )?\d\d:\d\d \(alarm\)$/);
    // Dry again for an hour: nothing more.
    alerts.splice(0);
    for (let k = 0; k < 6; k++) {
      now += 10 * MIN;
      await leak(false);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.map(line)).toEqual([]);
  }, 120_000);

  it('an ESPHome door left on across a restart is told after it (its start from the checkpoint), the restart not taught as a dwell', async () => {
    const dataDir = tempDataDir('anomalyd-onoff-held-restart-', cleanups);
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: {
        dataDir,
        broker: { port: 0 },
        ingest: { presets: ['esphome'], timezone: 'UTC' },
        homeassistant: { discovery: 'off' },
        http: { port: 0, host: '127.0.0.1' },
        model: { dir: MODELS, worker: false },
        learning: { enabled: true },
        store: { commitIntervalMs: 0 },
      },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const clock = { now: Math.floor(Date.now() / 1000) * 1000 - 2 * 1440 * MIN };
    const alerts: AlertPayload[] = [];
    const run = (tag: string): Promise<VirtualRun> => virtualRun(loaded.config, () => clock.now, `onoff-held-restart-${tag}`, alerts, cleanups);
    const first = await run('a');
    await use(140, lcg(47), clock, first.send, () => first.daemon.judgeSilences());
    expect(alerts.map(line)).toEqual([]);
    // Opened; the daemon stops 5 s later, starts again a minute after; the door stays on and sends nothing more.
    clock.now += 30 * SEC;
    await first.send(ESP_TOPIC, 'ON');
    const openedAt = clock.now;
    clock.now += 5 * SEC;
    first.daemon.judgeSilences();
    await first.stop();
    clock.now += 60 * SEC;
    const second = await run('b');
    for (let k = 0; k < 360 && !alerts.some((a) => a.sensor === ESP); k++) {
      clock.now += 10 * SEC;
      second.daemon.judgeSilences();
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => alerts.some((a) => a.sensor === ESP), 10_000, 'the door held on across the restart told');
    const held = alerts.find((a) => a.sensor === ESP)!;
    expect(held).toMatchObject({ event: 'open', explanation: { kind: 'stuck', value: 1 } });
    // Its start is the opening before the restart; its longest dwell its own (at most 9 s), not the restart's minute.
    expect(held.explanation?.sentence).toMatch(/^esp-door\/front_door on for \d+ min since \d\d:\d\d, never longer than [4-9] s before \(stuck: state held\)$/);
    expect(held.explanation?.sentence).toContain(`since ${new Date(openedAt).toISOString().slice(11, 16)}`);
    expect(clock.now - openedAt).toBeLessThan(30 * MIN);
    clock.now += 10 * SEC;
    await second.send(ESP_TOPIC, 'OFF');
    await waitFor(() => alerts.some((a) => a.sensor === ESP && a.event === 'resolve'), 10_000, 'resolved at its off');
    expect(alerts.filter((a) => a.sensor === ESP).map((a) => a.anomaly_id)).toEqual([held.anomaly_id, held.anomaly_id]);
  }, 240_000);
});
