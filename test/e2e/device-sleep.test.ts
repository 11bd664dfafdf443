/**
 * A device that sleeps (tryout 32): an ESPHome node on deep sleep publishes on each wake `garden-soil/status online`
 * (retained), its reading, then `garden-soil/status offline` before it sleeps again. Once SLEEP_CYCLES of its sleeps
 * in a row were alike it is a sleeper: its `offline` is no episode, and it is told (one device_offline episode) only
 * when it does not wake within SLEEP_WAIT times its usual sleep. Its cadence is kept across a restart.
 * Nothing of it is ESPHome's: a zigbee2mqtt device that says offline before each sleep is a sleeper alike.
 * The daemon in-process with a virtual clock, the embedded broker, a real SQLite file, the esphome and zigbee2mqtt presets.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import { SLEEP_CYCLES, SLEEP_WAIT } from '../../src/daemon/availability.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { collectAlerts, inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';
import { lcg } from '../helpers/lcg.js';

const SEC = 1000;
const MIN = 60 * SEC;
const DAY = 24 * 60 * MIN;

const cleanups = useCleanups();

/** A sleeping device as its hub tells it: its name, its availability topic and words, its reading's topic and payload. */
interface Node {
  readonly preset: string;
  readonly device: string;
  readonly status: string;
  readonly online: string;
  readonly offline: string;
  readonly state: string;
  readonly payload: (value: number) => string;
}

const ESPHOME: Node = { preset: 'esphome', device: 'garden-soil', status: 'garden-soil/status', online: 'online', offline: 'offline', state: 'garden-soil/sensor/soil_moisture/state', payload: (v) => v.toFixed(1) };
const Z2M: Node = {
  preset: 'zigbee2mqtt',
  device: 'garden/soil',
  status: 'zigbee2mqtt/garden/soil/availability',
  online: '{"state":"online"}',
  offline: '{"state":"offline"}',
  state: 'zigbee2mqtt/garden/soil',
  payload: (v) => JSON.stringify({ soil_moisture: Math.round(v * 10) / 10 }),
};

async function started(dataDir: string, clock: () => number, alerts: AlertPayload[], preset: string): Promise<{ daemon: Daemon; url: string }> {
  const overrides = { ingest: { presets: [preset] }, http: { enabled: false } };
  const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides, clock, cleanups });
  await collectAlerts(url, `sleep-sub-${process.pid}-${alerts.length}-${Math.random()}`, cleanups, alerts);
  return { daemon, url };
}

/** The device's episodes told so far: [event, kind] of each alert of the device itself. */
function deviceAlerts(alerts: readonly AlertPayload[], device: string): Array<[string, string | null | undefined]> {
  return alerts.filter((a) => a.sensor === device).map((a) => [a.event, a.explanation?.kind]);
}

/** One wake as ESPHome's deep sleep does it: online (retained), the reading, offline (retained); all handled. */
async function wake(daemon: Daemon, client: mqtt.MqttClient, n: Node, value: number): Promise<void> {
  const before = daemon.counters.messages;
  await client.publishAsync(n.status, n.online, { qos: 1, retain: true });
  await client.publishAsync(n.state, n.payload(value), { qos: 1 });
  await client.publishAsync(n.status, n.offline, { qos: 1, retain: true });
  await waitFor(() => daemon.counters.messages >= before + 3, 10_000, 'the wake handled');
}

describe.skipIf(!builtAndModelsPresent())('a device that sleeps', () => {
  it.each([
    ['an ESPHome node', '15 min', 15 * MIN, DAY, ESPHOME],
    ['an ESPHome node', '2 min', 2 * MIN, DAY, ESPHOME],
    ['a zigbee2mqtt device', '15 min', 15 * MIN, DAY / 4, Z2M],
  ] as const)('%s waking every %s: at most its first sleeps told, none after; a missed wake told once; its cadence kept across a restart', async (_what, _name, period, span, n) => {
    const dataDir = tempDataDir('anomalyd-sleep-', cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    let { daemon, url } = await started(dataDir, clock, alerts, n.preset);
    let node = await mqtt.connectAsync(url, { clientId: `garden-soil-${process.pid}`, reconnectPeriod: 0 });
    cleanups.push(() => node.endAsync(true));
    const rnd = lcg(11);
    const cycles = Math.round(span / period);
    let toldAfterCadence = 0;
    for (let i = 0; i < cycles; i++) {
      await wake(daemon, node, n, 30 + rnd());
      const told = deviceAlerts(alerts, n.device).filter(([e]) => e === 'open').length;
      if (i >= SLEEP_CYCLES) toldAfterCadence = told - SLEEP_CYCLES;
      // Mid-sleep and just before the next wake, the daemon judges its silences.
      now += period / 2;
      daemon.judgeSilences();
      now += period / 2;
      daemon.judgeSilences();
    }
    await new Promise((r) => setTimeout(r, 200));
    const opens = deviceAlerts(alerts, n.device).filter(([e]) => e === 'open');
    // Its first sleeps (before the cadence is known) are told; not one after. On main: one per sleep (96 or 720).
    expect(opens.length).toBe(SLEEP_CYCLES);
    expect(toldAfterCadence).toBeLessThanOrEqual(0);
    expect(alerts.filter((a) => a.explanation?.kind === 'missing_data')).toEqual([]);

    // A restart while it sleeps: its next sleep is no alert either (its cadence kept in the store).
    await daemon.stop();
    node.end(true);
    ({ daemon, url } = await started(dataDir, clock, alerts, n.preset));
    node = await mqtt.connectAsync(url, { clientId: `garden-soil-b-${process.pid}`, reconnectPeriod: 0 });
    cleanups.push(() => node.endAsync(true));
    const toldBefore = alerts.length;
    await wake(daemon, node, n, 30.5);
    now += period;
    daemon.judgeSilences();
    await wake(daemon, node, n, 30.4);
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.slice(toldBefore).filter((a) => a.sensor === n.device)).toEqual([]);

    // A missed wake: told once, when it has not woken within SLEEP_WAIT of its usual sleeps.
    now += period;
    daemon.judgeSilences();
    now += (SLEEP_WAIT - 1) * period - SEC;
    daemon.judgeSilences();
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.slice(toldBefore).filter((a) => a.sensor === n.device)).toEqual([]);
    now += 2 * SEC;
    daemon.judgeSilences();
    await waitFor(() => alerts.slice(toldBefore).some((a) => a.sensor === n.device), 10_000, 'the missed wake told');
    now += 10 * period;
    daemon.judgeSilences();
    await new Promise((r) => setTimeout(r, 200));
    const missed = alerts.slice(toldBefore).filter((a) => a.sensor === n.device);
    expect(missed.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'device_offline']]);
    const usual = period === 15 * MIN ? '15 min' : '2 min';
    const wait = period === 15 * MIN ? '45 min' : '6 min';
    expect(missed[0].explanation?.sentence).toContain(`(the device said so on ${n.status}), did not wake within ${wait}, usually sleeps ${usual}, 1 stream silent`);
    // It wakes at last: resolved; and its next sleeps are still sleeps (the long one not learnt as its cadence).
    await wake(daemon, node, n, 30.2);
    await waitFor(() => alerts.slice(toldBefore).filter((a) => a.sensor === n.device).length === 2, 10_000, 'resolved');
    now += period;
    daemon.judgeSilences();
    await wake(daemon, node, n, 30.3);
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.slice(toldBefore).filter((a) => a.sensor === n.device).map((a) => a.event)).toEqual(['open', 'resolve']);
  }, 600_000);
});
