/**
 * Tryout 15 finding 6: a second start of the same configuration (another data directory, so the lock does not
 * stop it) against an external broker must fail on its own without touching the daemon already running. Before,
 * it connected with the same client id and subscribed before it bound its HTTP port: mosquitto took the session
 * over from the running daemon (which logged `mqtt offline; reconnecting`), and the failing process published
 * `offline` on the shared retained status topic on its way out. Now everything local is bound first, and a start
 * that fails never connects. And a second copy that does start (its own ports and data directory) but shares the
 * client id fights the first over the session for ever: each is told so, once, naming the client id.
 * Timeouts here are guards only.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!ready)('a second start that fails (mosquitto)', () => {
  it('never connects: the running daemon keeps its session and its status stays online', async () => {
    const broker = new Mosquitto();
    await broker.start();
    cleanups.push(() => broker.stop());
    const httpPort = await freePort();
    const config = { broker: { enabled: false }, mqtt: { url: broker.url, clientId: 'anomalyd-twice' }, http: { port: httpPort } };

    const first = new DaemonProcess(config);
    cleanups.push(async () => void (await first.stop('SIGKILL')));
    await first.start();
    expect(first.logged('mqtt connected')).toHaveLength(1);

    // Everything said on the status topic from now on (the retained `online` first).
    const watcher: MqttClient = await mqtt.connectAsync(broker.url, { clientId: 'status-watcher' });
    cleanups.push(() => watcher.endAsync(true));
    const seen: { topic: string; payload: string }[] = [];
    watcher.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString('utf8') }));
    await watcher.subscribeAsync(['anomalyd/status', 'marker/#'], { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'anomalyd/status'), 10_000, 'the retained status');

    // The same configuration with its own data directory (DaemonProcess gives each its own): the HTTP port is the first's.
    const second = new DaemonProcess(config);
    cleanups.push(async () => void (await second.stop('SIGKILL')));
    expect(await second.startExpectingExit(60_000)).toBe(1);
    expect(second.stderr).toContain(`could not start: dashboard/API (HTTP) could not listen on 127.0.0.1:${httpPort}: the port is already in use`);
    // It never connected to the broker.
    expect(second.logged('mqtt connected')).toHaveLength(0);

    // Whatever the broker forwarded before this marker has reached the watcher (mosquitto forwards in order).
    await watcher.publishAsync('marker/done', 'x', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'marker/done'), 10_000, 'the marker');
    expect(seen.filter((m) => m.topic === 'anomalyd/status').map((m) => m.payload)).toEqual(['online']);

    // The first daemon's connection was never closed; it goes on and stops cleanly.
    expect(first.exitCode).toBeNull();
    expect(first.logged('mqtt offline; reconnecting')).toHaveLength(0);
    expect(first.logged('mqtt connected')).toHaveLength(1);
    expect(await first.stop()).toBe(0);
    expect(first.logged('mqtt offline; reconnecting')).toHaveLength(0);
  }, 120_000);
});

describe.skipIf(!ready)('two daemons with one client id (mosquitto)', () => {
  it('each kicks the other off; the clash is logged as an error naming the client id', async () => {
    const broker = new Mosquitto();
    await broker.start();
    cleanups.push(() => broker.stop());
    const config = { broker: { enabled: false }, mqtt: { url: broker.url, clientId: 'anomalyd-clash' } };
    const first = new DaemonProcess(config);
    cleanups.push(async () => void (await first.stop('SIGKILL')));
    await first.start();
    const second = new DaemonProcess(config);
    cleanups.push(async () => void (await second.stop('SIGKILL')));
    await second.start();

    const clash = (d: DaemonProcess): boolean => d.lines.some((l) => l.level === 50 && /same client id "anomalyd-clash"/.test(l.msg));
    await waitFor(() => clash(first) && clash(second), 60_000, 'both daemons to tell the clash');
    for (const d of [first, second]) {
      const told = d.lines.filter((l) => l.level === 50 && /same client id/.test(l.msg));
      expect(told).toHaveLength(1);
      expect(told[0]).toMatchObject({ clientId: 'anomalyd-clash', closes: 3 });
      expect(told[0].msg).toContain('give every anomalyd its own mqtt.clientId');
    }
    expect(await second.stop()).toBe(0);
    expect(await first.stop()).toBe(0);
  }, 120_000);
});
