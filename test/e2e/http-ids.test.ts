/**
 * The HTTP API of the real daemon as tryout 16 (finding 11) used it: an id that cannot be an anomaly id is a 400
 * as docs/HTTP.md says (the daemon's ids are UUIDs), a possible one that no episode has a 404; a `since` with its
 * `+hh` offset typed as is (a query string turns the + into a space) is read as that offset. A stream filter
 * (`?sensor=`) naming no stream the daemon knows is a 404 naming the close ones, as `?device=` is (tryout 20, F10).
 */
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';
import { waitFor } from '../helpers/net.js';

const ready = builtAndModelsPresent();
let daemon: DaemonProcess | undefined;
afterAll(async () => {
  await daemon?.stop('SIGKILL');
});

describe.skipIf(!ready)('anomaly ids and since over HTTP (real daemon)', () => {
  it('400 for zzz, 404 for an unknown UUID prefix, 200 for since=…+01 unencoded', async () => {
    daemon = new DaemonProcess({ broker: { port: 0 } });
    await daemon.start();
    const http = daemon.logged('ready')[0].http as string;
    const zzz = await fetch(`${http}/api/anomalies/zzz`);
    expect(zzz.status).toBe(400);
    expect(((await zzz.json()) as { error: string }).error).toMatch(/^invalid anomaly id "zzz": an anomaly id is a UUID/);
    const unknown = await fetch(`${http}/api/anomalies/8d83097d`);
    expect(unknown.status).toBe(404);
    expect((await fetch(`${http}/api/anomalies?since=2026-12-02T06:40:00+01`)).status).toBe(200);
  });

  it('?sensor= of an unknown stream is a 404 naming the close known ones; a known stream without episodes is an empty list (tryout 20, F10)', async () => {
    const http = daemon!.logged('ready')[0].http as string;
    const client = await mqtt.connectAsync(daemon!.logged('ready')[0].mqtt as string, { clientId: `http-ids-${process.pid}` });
    const now = Date.now();
    for (const [i, value] of [21.5, 21.6, 21.7].entries()) {
      await client.publishAsync('sensors/bedroom_sensor', JSON.stringify({ ts: now - (2 - i) * 1000, temperature: value, humidity: 40 + i }), { qos: 1 });
    }
    await client.endAsync();
    const streams = async (): Promise<string[]> => ((await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string }[] }).sensors.map((x) => x.sensor);
    await waitFor(async () => (await streams()).includes('bedroom_sensor/temperature'), 10_000, 'the stream to be known');
    const get = async (sensor: string): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(`${http}/api/anomalies?sensor=${encodeURIComponent(sensor)}`);
      return { status: res.status, body: await res.json() };
    };
    expect(await get('bedroom_sensor/temperature')).toEqual({ status: 200, body: { anomalies: [], more: 0 } });
    expect(await get('bedroom_sensor/temp')).toEqual({ status: 404, body: { error: 'no such sensor: "bedroom_sensor/temp" (close: "bedroom_sensor/temperature")' } });
    expect(await get('bedroom_sensor')).toEqual({ status: 404, body: { error: 'no such sensor: "bedroom_sensor" is a device (filter it with ?device=)' } });
    expect(await get('nosuch')).toEqual({ status: 404, body: { error: 'no such sensor: "nosuch"' } });
  });
});
