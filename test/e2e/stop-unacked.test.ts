/**
 * A graceful stop loses no reading it acknowledged (tryout 25, finding 3): the daemon as a child process on a real
 * mosquitto with a persistent session (`clean: false`, QoS 1), a real SQLite file. A sensor publishes device-timed
 * readings at QoS 1 without a break while the daemon is stopped with SIGTERM and started again. Every reading must be
 * taken once (the daemon's counters across both runs): one that came during the stop is either processed and stored before the PUBACK goes out, or not
 * acknowledged, so the broker re-sends it to the next process. Before, the daemon unsubscribed its pipeline first and
 * went on acknowledging what arrived during its ~2 s stop: those readings were lost for good (`gaps >1.5s` at each
 * SIGTERM in the tryout).
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { getJson, waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent() && mosquittoAvailable();

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!ready)('graceful stop with a persistent session (child process, real mosquitto)', () => {
  it('takes every QoS 1 reading published across a SIGTERM restart, once: none acknowledged and dropped during the stop', async () => {
    const broker = await startMosquitto(cleanups);
    const daemon = new DaemonProcess({
      broker: { enabled: false },
      mqtt: { url: broker.url, clientId: `stop-unacked-${process.pid}`, clean: false, qos: 1 },
      learning: { enabled: false },
    });
    cleanups.push(async () => void (await daemon.stop('SIGKILL')));
    await daemon.start();
    const sensor = await mqtt.connectAsync(broker.url, { clientId: `stop-unacked-sensor-${process.pid}`, clean: false });
    cleanups.push(() => sensor.endAsync(true));

    // Device times one second apart ending near now, all different; published as fast as the broker takes them.
    const N = 1200;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - N * 1000;
    const send = (i: number): Promise<unknown> =>
      sensor.publishAsync('sensors/steady', JSON.stringify({ ts: t0 + i * 1000, value: Number((20 + Math.sin(i / 7)).toFixed(3)) }), { qos: 1 });
    let i = 0;
    for (; i < 300; i++) await send(i);
    await waitFor(async () => (await counters(daemon)).readings >= 100, 60_000, 'the first readings taken');

    // SIGTERM while the sensor keeps publishing: some readings arrive while the daemon stops.
    const stopped = daemon.stop('SIGTERM');
    let exited = false;
    void stopped.then(() => (exited = true));
    let duringStop = 0;
    while (!exited && i < N - 100) {
      await send(i++);
      duringStop++;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await stopped).toBe(0);
    expect(duringStop).toBeGreaterThan(0);
    const first = stoppedCounters(daemon);
    // Some more while it is away (queued by the broker), then the restart and the rest.
    for (let k = 0; k < 20 && i < N; k++) await send(i++);
    await daemon.start();
    while (i < N) await send(i++);
    // Every reading taken (each device time once: a copy would be rejected as redelivered, not taken).
    await waitFor(async () => first.readings + (await counters(daemon)).readings >= N, 120_000, 'every reading taken').catch(() => undefined);
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const second = stoppedCounters(daemon);
    expect({ readings: first.readings + second.readings, received: first.received + second.received }).toEqual({ readings: N, received: N });
  }, 300_000);
});

/** The running daemon's counters (GET /api/status on the HTTP port its `ready` line names). */
async function counters(daemon: DaemonProcess): Promise<Record<string, number>> {
  const http = daemon.logged('ready')[0]?.http;
  if (typeof http !== 'string') throw new Error('the daemon named no HTTP address');
  return (await getJson<{ counters: Record<string, number> }>(`${http}/api/status`)).counters;
}

/** The counters of the daemon's last run, as its `stopped` line gives them. */
function stoppedCounters(daemon: DaemonProcess): Record<string, number> {
  const line = daemon.logged('stopped').at(-1);
  if (line === undefined) throw new Error('the daemon logged no stopped line');
  return line.counters as Record<string, number>;
}
