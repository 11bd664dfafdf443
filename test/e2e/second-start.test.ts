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
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { freePort, getJson, waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!ready)('a second start that fails (mosquitto)', () => {
  it('never connects: the running daemon keeps its session and its status stays online', async () => {
    const broker = await startMosquitto(cleanups);
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
    const broker = await startMosquitto(cleanups);
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

    // Said where the operator looks (tryout 17, finding 4: only in the log): the API, `anomalyd status`.
    const status = async (d: DaemonProcess): Promise<{ mqtt: { connected: boolean; clientIdClash?: { clientId: string; closes: number; reconnectDelayMs: number } | null } }> =>
      getJson(`${d.logged('ready').at(-1)!.http as string}/api/status`);
    for (const d of [first, second]) expect((await status(d)).mqtt.clientIdClash).toMatchObject({ clientId: 'anomalyd-clash' });
    const cli = spawnSync(process.execPath, [resolve('dist/main.js'), 'status', '--url', first.logged('ready').at(-1)!.http as string], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^clash +CLIENT ID CLASH: another MQTT client connects with the client id "anomalyd-clash" and takes the session over \(\d+ times in a row since /m);
    // The fight slows: each takes the session back after a growing wait.
    await waitFor(async () => ((await status(first)).mqtt.clientIdClash?.reconnectDelayMs ?? 0) >= 4000 && ((await status(second)).mqtt.clientIdClash?.reconnectDelayMs ?? 0) >= 4000, 60_000, 'the waits to grow');

    // A clean stop of one copy does not say `offline` on the status topic the other shares.
    const watcher: MqttClient = await mqtt.connectAsync(broker.url, { clientId: 'status-watcher-clash' });
    cleanups.push(() => watcher.endAsync(true));
    const seen: { topic: string; payload: string }[] = [];
    watcher.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString('utf8') }));
    await watcher.subscribeAsync(['anomalyd/status', 'marker/#'], { qos: 1 });
    await waitFor(async () => (await status(second)).mqtt.connected, 60_000, 'the second copy holding the session');
    const from = seen.length;
    expect(await second.stop()).toBe(0);
    expect(second.logged('final status offline not published: another client uses the client id "anomalyd-clash" and holds the status topic too')).toHaveLength(1);
    await watcher.publishAsync('marker/done', 'x', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'marker/done'), 10_000, 'the marker');
    expect(seen.slice(from).filter((m) => m.topic === 'anomalyd/status' && m.payload === 'offline')).toEqual([]);
    expect(await first.stop()).toBe(0);
  }, 180_000);
});
