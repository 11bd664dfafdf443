/**
 * A device that sleeps (tryout 32): an ESPHome node on deep sleep publishes on each wake `garden-soil/status online`
 * (retained), its reading, then `garden-soil/status offline` before it sleeps again. Once SLEEP_CYCLES of its sleeps
 * in a row were alike it is a sleeper: its `offline` is no episode, and it is told (one device_offline episode) only
 * when it does not wake within SLEEP_WAIT times its usual sleep. Its cadence is kept across a restart.
 * The daemon in-process with a virtual clock, the embedded broker, a real SQLite file, the esphome preset.
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

async function started(dataDir: string, clock: () => number, alerts: AlertPayload[]): Promise<{ daemon: Daemon; url: string }> {
  const overrides = { ingest: { presets: ['esphome'] }, http: { enabled: false } };
  const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, overrides, clock, cleanups });
  await collectAlerts(url, `sleep-sub-${process.pid}-${alerts.length}-${Math.random()}`, cleanups, alerts);
  return { daemon, url };
}

/** The device's episodes told so far: [event, kind] of each alert of the device itself. */
function deviceAlerts(alerts: readonly AlertPayload[]): Array<[string, string | null | undefined]> {
  return alerts.filter((a) => a.sensor === 'garden-soil').map((a) => [a.event, a.explanation?.kind]);
}

/** One wake as ESPHome's deep sleep does it: online (retained), the reading, offline (retained); all handled. */
async function wake(daemon: Daemon, node: mqtt.MqttClient, value: number): Promise<void> {
  const before = daemon.counters.messages;
  await node.publishAsync('garden-soil/status', 'online', { qos: 1, retain: true });
  await node.publishAsync('garden-soil/sensor/soil_moisture/state', value.toFixed(1), { qos: 1 });
  await node.publishAsync('garden-soil/status', 'offline', { qos: 1, retain: true });
  await waitFor(() => daemon.counters.messages >= before + 3, 10_000, 'the wake handled');
}

describe.skipIf(!builtAndModelsPresent())('a device that sleeps', () => {
  it.each([
    ['15 min', 15 * MIN],
    ['2 min', 2 * MIN],
  ])('waking every %s for a day: at most its first sleeps told, none after; a missed wake told once; its cadence kept across a restart', async (_name, period) => {
    const dataDir = tempDataDir('anomalyd-sleep-', cleanups);
    let now = Math.floor(Date.now() / 1000) * 1000;
    const clock = (): number => now;
    const alerts: AlertPayload[] = [];
    let { daemon, url } = await started(dataDir, clock, alerts);
    let node = await mqtt.connectAsync(url, { clientId: `garden-soil-${process.pid}`, reconnectPeriod: 0 });
    cleanups.push(() => node.endAsync(true));
    const rnd = lcg(11);
    const cycles = Math.round(DAY / period);
    let toldAfterCadence = 0;
    for (let i = 0; i < cycles; i++) {
      await wake(daemon, node, 30 + rnd());
      const told = deviceAlerts(alerts).filter(([e]) => e === 'open').length;
      if (i >= SLEEP_CYCLES) toldAfterCadence = told - SLEEP_CYCLES;
      // Mid-sleep and just before the next wake, the daemon judges its silences.
      now += period / 2;
      daemon.judgeSilences();
      now += period / 2;
      daemon.judgeSilences();
    }
    await new Promise((r) => setTimeout(r, 200));
    const opens = deviceAlerts(alerts).filter(([e]) => e === 'open');
    // Its first sleeps (before the cadence is known) are told; not one after. On main: one per sleep (96 or 720).
    expect(opens.length).toBeLessThanOrEqual(SLEEP_CYCLES + 1);
    expect(toldAfterCadence).toBeLessThanOrEqual(0);
    expect(alerts.filter((a) => a.explanation?.kind === 'missing_data')).toEqual([]);

    // A restart while it sleeps: its next sleep is no alert either (its cadence kept in the store).
    await daemon.stop();
    node.end(true);
    ({ daemon, url } = await started(dataDir, clock, alerts));
    node = await mqtt.connectAsync(url, { clientId: `garden-soil-b-${process.pid}`, reconnectPeriod: 0 });
    cleanups.push(() => node.endAsync(true));
    const toldBefore = alerts.length;
    await wake(daemon, node, 30.5);
    now += period;
    daemon.judgeSilences();
    await wake(daemon, node, 30.4);
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.slice(toldBefore).filter((a) => a.sensor === 'garden-soil')).toEqual([]);

    // A missed wake: told once, when it has not woken within SLEEP_WAIT of its usual sleeps.
    now += period;
    daemon.judgeSilences();
    now += (SLEEP_WAIT - 1) * period - SEC;
    daemon.judgeSilences();
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.slice(toldBefore).filter((a) => a.sensor === 'garden-soil')).toEqual([]);
    now += 2 * SEC;
    daemon.judgeSilences();
    await waitFor(() => alerts.slice(toldBefore).some((a) => a.sensor === 'garden-soil'), 10_000, 'the missed wake told');
    now += 10 * period;
    daemon.judgeSilences();
    await new Promise((r) => setTimeout(r, 200));
    const missed = alerts.slice(toldBefore).filter((a) => a.sensor === 'garden-soil');
    expect(missed.map((a) => [a.event, a.explanation?.kind])).toEqual([['open', 'device_offline']]);
    const usual = period === 15 * MIN ? '15 min' : '2 min';
    const wait = period === 15 * MIN ? '45 min' : '6 min';
    expect(missed[0].explanation?.sentence).toContain(`, did not wake within ${wait}, usually sleeps ${usual}, 1 stream silent`);
    // It wakes at last: resolved; and its next sleeps are still sleeps (the long one not learnt as its cadence).
    await wake(daemon, node, 30.2);
    await waitFor(() => alerts.slice(toldBefore).filter((a) => a.sensor === 'garden-soil').length === 2, 10_000, 'resolved');
    now += period;
    daemon.judgeSilences();
    await wake(daemon, node, 30.3);
    await new Promise((r) => setTimeout(r, 200));
    expect(alerts.slice(toldBefore).filter((a) => a.sensor === 'garden-soil').map((a) => a.event)).toEqual(['open', 'resolve']);
  }, 600_000);
});
