/**
 * Tryout 26, finding 3: a second anomalyd on the same broker (its own client id and data directory, the same
 * mqtt.topicPrefix), started and stopped while the first runs, left the first's retained `anomalyd/status` at
 * `offline` (the second's clean stop), so Home Assistant showed every entity unavailable while the first ran, and
 * nothing said why. Now the running daemon watches its own status topic: it publishes `online` again (retained), and
 * tells the clash once in its log and for good in /api/status (`mqtt.statusTopicClash`) and `anomalyd status`.
 *
 * Two daemons in this process with the real clock, real SQLite files, on a real mosquitto; and on the first's
 * embedded broker, where the second (anonymous: the sensor role, never allowed under mqtt.topicPrefix) cannot
 * publish on the status topic at all. Timeouts are guards only.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/cli/status.js';
import type { DaemonStatusView } from '../../src/http/view.js';
import { rmSync } from 'node:fs';
import { RETAINED_WAIT_MS, retainedMessage } from '../helpers/alert-stream.js';
import { builtAndModelsPresent, DaemonProcess } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { brokerCases, brokerUrlFor, Mosquitto, mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { freePort, getJson, waitFor } from '../helpers/net.js';

const cleanups = useCleanups();

/** The retained status on `url` as a fresh client `probe` gets it at its subscribe (null: none within RETAINED_WAIT_MS). */
function retainedStatus(url: string, probe: string): Promise<string | null> {
  return retainedMessage(url, 'anomalyd/status', probe);
}

describe.skipIf(!builtAndModelsPresent())('a second daemon on the same broker and topic prefix', () => {
  it.each(brokerCases('embedded'))('(%s broker) its stop leaves the running daemon online: the status is published again and the clash told', async (name, available) => {
    if (!available) return;
    const brokerUrl = await brokerUrlFor(name, cleanups);
    const httpPort = await freePort();
    const first = await inProcessDaemon({
      dataDir: tempDataDir('anomalyd-prefix-clash-1-', cleanups),
      brokerUrl,
      overrides: { mqtt: { ...(brokerUrl !== null ? { url: brokerUrl } : {}), clientId: `prefix-clash-first-${process.pid}` }, http: { port: httpPort, host: '127.0.0.1' } },
      clock: null,
      cleanups,
    });
    const url = first.url;
    const api = `http://127.0.0.1:${httpPort}/api/status`;
    expect(await retainedStatus(url, `prefix-clash-read0-${process.pid}`)).toBe('online');

    // Everything said on the status topic from now on.
    const watcher = await mqtt.connectAsync(url, { clientId: `prefix-clash-watch-${process.pid}` });
    cleanups.push(() => watcher.endAsync(true));
    const seen: string[] = [];
    watcher.on('message', (_t, payload) => seen.push(payload.toString('utf8')));
    await watcher.subscribeAsync('anomalyd/status', { qos: 1 });
    await waitFor(() => seen.length > 0, RETAINED_WAIT_MS, 'the retained status');

    // The second: its own client id and data directory, the same topic prefix, no HTTP; started, then stopped cleanly.
    const second = await inProcessDaemon({
      dataDir: tempDataDir('anomalyd-prefix-clash-2-', cleanups),
      brokerUrl: url,
      overrides: { broker: { enabled: false }, mqtt: { url, clientId: `prefix-clash-second-${process.pid}` }, http: { enabled: false } },
      clock: null,
      cleanups,
    });
    await second.daemon.stop();

    if (name === 'mosquitto') {
      // Its `offline` reached the topic, and the first answered with `online` after it.
      await waitFor(() => seen.lastIndexOf('online') > seen.indexOf('offline') && seen.includes('offline'), 10_000, 'online after the second daemon\'s offline');
      const status = await getJson<DaemonStatusView>(api);
      expect(status.mqtt.statusTopicClash).toMatchObject({ topic: 'anomalyd/status', payload: 'offline' });
      expect(status.mqtt.statusTopicClash!.times).toBeGreaterThanOrEqual(1);
      expect(status.mqtt.clientIdClash ?? null).toBeNull();
      const text = formatStatus(status, 'http://127.0.0.1');
      expect(text).toContain('TOPIC PREFIX CLASH');
      expect(text).toContain('give each anomalyd its own mqtt.topicPrefix');
    } else {
      // The embedded broker refuses the second's status (an anonymous client gets the sensor role): nothing to tell.
      await watcher.publishAsync('anomalyd-test/marker', 'x', { qos: 1 });
      expect((await getJson<DaemonStatusView>(api)).mqtt.statusTopicClash ?? null).toBeNull();
    }
    // The retained status a newcomer (Home Assistant at its start) gets is the running daemon's.
    expect(await retainedStatus(url, `prefix-clash-read1-${process.pid}`)).toBe('online');
  });
});

describe.skipIf(!builtAndModelsPresent() || !mosquittoAvailable())('a second daemon on the same topic prefix, killed', () => {
  it('(mosquitto) its last will `offline` is answered: the running daemon publishes `online` again and tells the clash', async () => {
    const { url } = await startMosquitto(cleanups);
    const first = await inProcessDaemon({
      dataDir: tempDataDir('anomalyd-prefix-kill-1-', cleanups),
      brokerUrl: url,
      overrides: { broker: { enabled: false }, mqtt: { url, clientId: `prefix-kill-first-${process.pid}` }, http: { port: 0, host: '127.0.0.1' } },
      clock: null,
      cleanups,
    });
    expect(first.url).toBe(url);
    const watcher = await mqtt.connectAsync(url, { clientId: `prefix-kill-watch-${process.pid}` });
    cleanups.push(() => watcher.endAsync(true));
    const seen: string[] = [];
    watcher.on('message', (_t, payload) => seen.push(payload.toString('utf8')));
    await watcher.subscribeAsync('anomalyd/status', { qos: 1 });
    await waitFor(() => seen.length > 0, RETAINED_WAIT_MS, 'the retained status');

    // The second is the real daemon as its own process, killed (no clean stop): the broker sends its last will.
    const second = new DaemonProcess({ broker: { enabled: false }, mqtt: { url, clientId: `prefix-kill-second-${process.pid}` }, http: { enabled: false } });
    cleanups.push(async () => {
      await second.stop('SIGKILL');
      rmSync(second.dir, { recursive: true, force: true });
    });
    await second.start();
    const before = seen.length;
    await second.stop('SIGKILL');
    // Its will reached the topic, and the first answered with `online` after it.
    await waitFor(() => seen.slice(before).includes('offline') && seen.lastIndexOf('online') > seen.lastIndexOf('offline'), 15_000, "online after the killed daemon's last will");
    const status = await getJson<DaemonStatusView>(`${first.daemon.httpUrl!}/api/status`);
    expect(status.mqtt.statusTopicClash).toMatchObject({ topic: 'anomalyd/status', payload: 'offline' });
    expect(await retainedStatus(url, `prefix-kill-read-${process.pid}`)).toBe('online');
  });
});


describe.skipIf(!builtAndModelsPresent() || !mosquittoAvailable())('one daemon alone, killed, started again, then the broker stopped', () => {
  // Tryout 28, finding 8: mosquitto at its stop sends every client's last will, this daemon's own `offline` to itself
  // too, just before it closes the connection; the daemon told it as a second anomalyd (a TOPIC PREFIX CLASH in
  // `anomalyd status` and on the page, for the rest of its run). Its own last will is no clash.
  it('(mosquitto) its own last will, from the killed process or from the broker\'s stop, is never told as a clash', async () => {
    const broker = new Mosquitto();
    cleanups.push(() => Promise.resolve(rmSync(broker.dir, { recursive: true, force: true })));
    await broker.start();
    cleanups.push(() => broker.stop());
    const url = broker.url;
    // One port for both of the daemon's starts.
    const httpPort = await freePort();
    const daemon = new DaemonProcess({ broker: { enabled: false }, mqtt: { url, clientId: `prefix-alone-${process.pid}`, clean: false }, http: { port: httpPort, host: '127.0.0.1' } });
    cleanups.push(async () => {
      await daemon.stop('SIGKILL');
      rmSync(daemon.dir, { recursive: true, force: true });
    });
    const api = `http://127.0.0.1:${httpPort}/api/status`;
    const watcher = await mqtt.connectAsync(url, { clientId: `prefix-alone-watch-${process.pid}`, reconnectPeriod: 200 });
    cleanups.push(() => watcher.endAsync(true));
    const seen: string[] = [];
    watcher.on('message', (_t, payload) => seen.push(payload.toString('utf8')));
    await watcher.subscribeAsync('anomalyd/status', { qos: 1 });

    await daemon.start();
    await daemon.stop('SIGKILL');
    // The killed process's last will is on the topic (retained) before the next process starts.
    await waitFor(() => seen.includes('offline'), 15_000, "the killed daemon's last will");
    await daemon.start();
    await waitFor(() => seen.lastIndexOf('online') > seen.lastIndexOf('offline'), 15_000, 'online from the new process');
    expect((await getJson<DaemonStatusView>(api)).mqtt.statusTopicClash ?? null).toBeNull();

    // The broker stops (its own last will goes to the daemon itself) and starts again; the daemon reconnects.
    const before = daemon.logged('mqtt connected').length;
    await broker.stop();
    await waitFor(() => daemon.lines.some((l) => l.msg === 'mqtt offline; reconnecting'), 15_000, 'the daemon seeing the broker gone');
    await broker.start();
    await waitFor(() => daemon.logged('mqtt connected').length > before, 30_000, 'the daemon reconnected');
    const status = await getJson<DaemonStatusView>(api);
    expect(status.mqtt.connected).toBe(true);
    expect(status.mqtt.statusTopicClash ?? null).toBeNull();
    expect(formatStatus(status, 'http://127.0.0.1')).not.toContain('CLASH');
    expect(daemon.lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('another MQTT client published'))).toEqual([]);
    expect(await retainedStatus(url, `prefix-alone-read-${process.pid}`)).toBe('online');
  });
});
