/**
 * The HTTP API of the real daemon as tryout 16 (finding 11) used it: an id that cannot be an anomaly id is a 400
 * as docs/HTTP.md says (the daemon's ids are UUIDs), a possible one that no episode has a 404; a `since` with its
 * `+hh` offset typed as is (a query string turns the + into a space) is read as that offset.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';

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
});
