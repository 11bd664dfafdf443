/**
 * A daemon restarted against a mosquitto that keeps its persistent session (clean: false, QoS 1), with one clock for
 * all of it: the wall clock is the latest arrival; each message (and each CONNACK) takes the next planned arrival
 * time, or the time now when none is planned. Shared by the backlog tests (test/e2e/backlog.test.ts,
 * test/e2e/restart-backlog.test.ts): a hub publishes zigbee2mqtt payloads (no time stamp) into the session while the
 * daemon is down, and the test plans when the broker's burst arrives at the reconnect.
 */
import mqtt from 'mqtt';
import type { AlertPayload } from '../../src/contract/alerts.js';
import type { Daemon } from '../../src/daemon.js';
import { inProcessDaemon, tempDataDir } from './in-process.js';
import { Mosquitto } from './mosquitto.js';

/** What a test drives: the clock, its planned arrivals, the alerts seen, the hub, and a start of the daemon. */
export interface SessionRig {
  /** The wall clock now, epoch ms (the latest arrival; an hour before the real time at the start). */
  readonly now: () => number;
  /** Arrival times (epoch ms) the next messages take, in order; emptied as they arrive. */
  readonly planned: number[];
  /** Every alert published on anomalyd/alerts/#, in order. */
  readonly alerts: AlertPayload[];
  /** The hub: a persistent-session client that publishes the sensors' payloads. */
  readonly hub: mqtt.MqttClient;
  /** Starts a daemon on the rig's data directory (zigbee2mqtt preset, learning off); stopped at cleanup. */
  readonly start: () => Promise<Daemon>;
}

/**
 * Starts mosquitto on a free loopback port (freePort), a subscriber, the hub and a data directory; every resource is
 * pushed to `cleanups` (run in reverse by the test's afterEach). Client ids are `<name>-sub`, `<name>-hub`,
 * `<name>-anomalyd`.
 * @throws when mosquitto does not start or the configuration does not load
 */
export async function sessionRig(name: string, cleanups: Array<() => Promise<unknown> | void>): Promise<SessionRig> {
  const broker = new Mosquitto();
  await broker.start();
  cleanups.push(() => broker.stop());
  const dataDir = tempDataDir(`anomalyd-${name}-`, cleanups);

  let now = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  const planned: number[] = [];
  const arrival = (): number => {
    const t = planned.shift();
    if (t !== undefined) now = t;
    return now;
  };
  const alerts: AlertPayload[] = [];
  const sub = await mqtt.connectAsync(broker.url, { clientId: `${name}-sub`, clean: true });
  cleanups.push(() => sub.endAsync());
  sub.on('message', (_topic, payload) => alerts.push(JSON.parse(payload.toString('utf8')) as AlertPayload));
  await sub.subscribeAsync('anomalyd/alerts/#', { qos: 1 });
  const hub = await mqtt.connectAsync(broker.url, { clientId: `${name}-hub`, clean: false });
  cleanups.push(() => hub.endAsync());

  const start = async (): Promise<Daemon> => {
    const overrides = {
      mqtt: { url: broker.url, clientId: `${name}-anomalyd`, clean: false, qos: 1 },
      ingest: { presets: ['zigbee2mqtt'] },
      http: { enabled: false },
      // The zigbee2mqtt preset's default (`auto`: on), as these tests always ran.
      homeassistant: { discovery: 'auto' },
    } as const;
    return (await inProcessDaemon({ dataDir, brokerUrl: broker.url, overrides, clock: () => now, arrival, cleanups })).daemon;
  };
  return { now: () => now, planned, alerts, hub, start };
}
