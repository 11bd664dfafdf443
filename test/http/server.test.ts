import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Agent } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpServer, type HttpServerOptions } from '../../src/adapters/http.js';
import { DEFAULT_ANOMALY_LIMIT, MAX_ANOMALY_LIMIT } from '../../src/http/routes.js';
import { MAX_COMMAND_PAYLOAD_BYTES, MAX_NOTE_CHARS } from '../../src/pipeline/commands.js';
import { ANOMALY_ID_FORM, isUuidOrPrefix } from '../../src/daemon/http-view.js';
import { anomalyRecord, captureLogs, FakeView, request, series, T0, type TestResponse } from './helpers.js';

const servers: HttpServer[] = [];

async function serve(over: Partial<HttpServerOptions> = {}): Promise<{ server: HttpServer; base: string; view: FakeView; logs: ReturnType<typeof captureLogs> }> {
  const view = new FakeView();
  const logs = captureLogs();
  const server = new HttpServer({ host: '127.0.0.1', port: 0, logger: logs.logger, view, ...over });
  servers.push(server);
  await server.start();
  return { server, base: server.url!, view: (over.view as FakeView | undefined) ?? view, logs };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function expectError(res: TestResponse, status: number, pattern?: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json as { error?: unknown };
  expect(typeof body.error).toBe('string');
  if (pattern) expect(body.error).toMatch(pattern);
}

describe('HttpServer lifecycle', () => {
  it('binds an OS-chosen port for port 0 and exposes it', async () => {
    const { server } = await serve();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('rejects start when the port is taken, and its stop still resolves', async () => {
    const { server } = await serve();
    const second = new HttpServer({ host: '127.0.0.1', port: server.port!, logger: captureLogs().logger, view: new FakeView() });
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining(`127.0.0.1:${server.port}: the port is already in use`) as unknown });
    expect(second.port).toBeNull();
    await expect(second.stop()).resolves.toBeUndefined();
  });

  it('stop before start, and stop twice, resolve', async () => {
    const never = new HttpServer({ host: '127.0.0.1', port: 0, logger: captureLogs().logger, view: new FakeView() });
    await expect(never.stop()).resolves.toBeUndefined();
    const { server } = await serve();
    await Promise.all([server.stop(), server.stop()]);
    await expect(server.stop()).resolves.toBeUndefined();
    expect(server.port).toBeNull();
  });

  it('stop closes idle keep-alive connections instead of waiting for them', async () => {
    const { server, base } = await serve();
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    try {
      const res = await request(base, '/api/status', { agent });
      expect(res.status).toBe(200);
      const sockets = Object.values(agent.freeSockets).flat();
      expect(sockets.length).toBe(1);
      const closed = new Promise<void>((resolve) => sockets[0]!.once('close', () => resolve()));
      await server.stop();
      await closed;
      await expect(request(base, '/api/status')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      agent.destroy();
    }
  });
});

describe('GET routes', () => {
  it('GET /api/status returns the view, as uncached JSON', async () => {
    const { base, view } = await serve();
    const res = await request(base, '/api/status');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json).toEqual(view.statusView);
  });

  it('HEAD is answered like GET without a body', async () => {
    const { base } = await serve();
    const res = await request(base, '/api/status', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  });

  it('GET /api/sensors lists the sensors', async () => {
    const { base, view } = await serve();
    const res = await request(base, '/api/sensors');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ sensors: view.sensorViews });
  });

  it('GET /api/sensors/:id/series decodes the sensor name and passes range, since and points', async () => {
    const { base, view } = await serve();
    const res = await request(base, `/api/sensors/${encodeURIComponent('fan 2/α')}/series?range=24h&since=${T0 + 10}&points=300`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual(view.histories.get('fan 2/α'));
    expect(view.seriesCalls).toEqual([{ sensor: 'fan 2/α', q: { rangeMs: 86_400_000, since: T0 + 10, maxPoints: 300 } }]);
  });

  it('series defaults to the last hour and 800 points', async () => {
    const { base, view } = await serve();
    expect((await request(base, '/api/sensors/pump1/series')).status).toBe(200);
    expect(view.seriesCalls[0]).toEqual({ sensor: 'pump1', q: { rangeMs: 3_600_000, maxPoints: 800 } });
  });

  it.each([
    ['2025-06-01T12:00:01Z', T0 + 1000],
    ['2025-06-01 12:00:01', T0 + 1000],
    ['2025-06-01T14:00:01+02:00', T0 + 1000],
    ['30m', T0 + 3_600_000 - 30 * 60_000],
    ['24h', T0 + 3_600_000 - 86_400_000],
    ['7d', T0 + 3_600_000 - 7 * 86_400_000],
    [String(T0), T0],
  ])('since=%s is read as the CLI reads it (ages count back from the daemon clock)', async (since, ts) => {
    const { base, view } = await serve();
    expect((await request(base, `/api/sensors/pump1/series?since=${encodeURIComponent(since)}`)).status).toBe(200);
    expect((await request(base, `/api/anomalies?since=${encodeURIComponent(since)}`)).status).toBe(200);
    expect(view.seriesCalls[0].q.since).toBe(ts);
    expect(view.queries[0].from).toBe(ts);
  });

  it('series of a known sensor without readings is empty, of an unknown sensor 404', async () => {
    const { base } = await serve();
    const empty = await request(base, '/api/sensors/new/series');
    expect(empty.status).toBe(200);
    expect(empty.json).toMatchObject({ stream: 'new', channels: [], ts: [], latest: null });
    expectError(await request(base, '/api/sensors/nope/series'), 404, /no such sensor/);
  });

  it.each([
    ['since=yesterday', /since must be an age/],
    ['since=-5', /since must be/],
    ['since=99999999999999999', /since must be/],
    ['since=2025-13-45', /since must be/],
    ['range=2w', /range must be a duration/],
    ['range=30s', /range must be a duration/],
    ['range=9d', /range must be a duration/],
    ['points=3', /points must be an integer from 10/],
    ['until=5', /unknown query parameter "until"/],
    ['since=1&since=2', /more than once/],
  ])('series with %s is a 400', async (query, pattern) => {
    const { base } = await serve();
    expectError(await request(base, `/api/sensors/pump1/series?${query}`), 400, pattern);
  });

  it('the old history route is gone (404, not a different shape under the same name)', async () => {
    const { base } = await serve();
    expectError(await request(base, '/api/sensors/pump1/history'), 404, /no such route/);
  });

  it('large JSON answers are gzipped for clients that accept it', async () => {
    const { base, view } = await serve();
    view.histories.set('pump1', (await import('./helpers.js')).series('pump1', Array.from({ length: 500 }, (_, i) => T0 + i * 1000)));
    const plain = await request(base, '/api/sensors/pump1/series');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const zipped = await request(base, '/api/sensors/pump1/series', { headers: { 'Accept-Encoding': 'gzip, deflate' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(Number(zipped.headers['content-length'])).toBeLessThan(plain.text.length / 3);
    const { gunzipSync } = await import('node:zlib');
    expect(JSON.parse(gunzipSync(zipped.raw).toString('utf8'))).toEqual(plain.json);
  });

  it('a malformed percent-encoding in the path is a 400, not a crash', async () => {
    const { base } = await serve();
    expectError(await request(base, '/api/sensors/%E0%A4%A/series'), 400, /percent-encoding/);
    expect((await request(base, '/api/status')).status).toBe(200);
  });

  it('GET /api/anomalies without parameters asks for the default limit only, its devices’ silences folded', async () => {
    const { base, view } = await serve();
    const res = await request(base, '/api/anomalies');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ anomalies: view.records, more: 0 });
    // A field's silence told in its device's one episode is listed in it (tryout 31, finding 1).
    expect(view.queries).toEqual([{ limit: DEFAULT_ANOMALY_LIMIT, folded: true }]);
  });

  it('GET /api/anomalies turns every filter into the store query', async () => {
    const { base, view } = await serve();
    const res = await request(base, `/api/anomalies?sensor=${encodeURIComponent('fan 2/α')}&status=resolved&since=${T0}&limit=1`);
    expect(res.status).toBe(200);
    expect((res.json as { anomalies: unknown[] }).anomalies).toHaveLength(1);
    // A stream asked for by name: its own episodes, its silences told in its device's episode too (not folded).
    expect(view.queries).toEqual([{ sensor: 'fan 2/α', status: 'resolved', from: T0, limit: 1, folded: false }]);
  });

  it.each([
    ['limit=0', /limit must be/],
    [`limit=${MAX_ANOMALY_LIMIT + 1}`, /limit must be/],
    ['limit=ten', /limit must be/],
    ['limit=1.5', /limit must be/],
    ['status=closed', /status must be open or resolved/],
    ['sensor=', /sensor name/],
    [`sensor=${'x'.repeat(300)}`, /sensor name/],
    ['sort=asc', /unknown query parameter "sort"/],
  ])('GET /api/anomalies?%s is a 400 and never reaches the store', async (query, pattern) => {
    const { base, view } = await serve();
    expectError(await request(base, `/api/anomalies?${query}`), 400, pattern);
    expect(view.queries).toEqual([]);
  });

  it('GET /api/anomalies/:id returns the episode, 404 when unknown, 400 for an impossible id', async () => {
    const { base } = await serve();
    const res = await request(base, '/api/anomalies/a-1');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: 'a-1', sensor: 'pump1', events: [] });
    expectError(await request(base, '/api/anomalies/zz-9'), 404, /no such anomaly/);
    expectError(await request(base, `/api/anomalies/${encodeURIComponent('a b')}`), 400, /invalid anomaly id/);
  });

  it('an id that cannot be one of the daemon’s (its form: UUIDs) is a 400 saying what an id looks like; a possible one unknown is a 404 (tryout 16 #11)', async () => {
    const view = new FakeView();
    const uuid = '8d83097d-5c1e-4f0a-9b1e-2f6c1d0e7a44';
    view.records = [anomalyRecord({ id: uuid, sensor: 'pump1' })];
    Object.assign(view, { anomalyIdForm: ANOMALY_ID_FORM });
    const { base } = await serve({ view });
    for (const id of ['zzz', '8D83097D', '8d83097d5c1e', `${uuid}0`]) {
      expectError(await request(base, `/api/anomalies/${id}`), 400, /^invalid anomaly id ".*": an anomaly id is a UUID in lowercase hex/);
      expectError(await request(base, `/api/anomalies/${id}/ack`, { method: 'POST' }), 400, /invalid anomaly id/);
    }
    expect(view.marks).toEqual([]);
    expect((await request(base, `/api/anomalies/${uuid}`)).status).toBe(200);
    expect((await request(base, '/api/anomalies/8d83097d')).status).toBe(200); // a prefix of 8
    expectError(await request(base, '/api/anomalies/0000aaaa-'), 404, /no such anomaly/);
    expectError(await request(base, '/api/anomalies/8d83'), 404, /needs at least 8 characters/);
  });

  it('isUuidOrPrefix: a randomUUID and every prefix of it, nothing else', () => {
    const uuid = randomUUID();
    for (let n = 1; n <= uuid.length; n++) expect(isUuidOrPrefix(uuid.slice(0, n))).toBe(true);
    for (const bad of ['', 'zzz', 'a-1', uuid.toUpperCase(), `${uuid}0`, uuid.replace(/-/g, ''), `${uuid.slice(0, 8)}x`]) expect(isUuidOrPrefix(bad)).toBe(false);
  });

  it('since with an offset whose + was not percent-encoded (a query string makes it a space) is read as that offset', async () => {
    const { base, view } = await serve();
    for (const [raw, offset] of [
      ['2026-12-02T06:40:00+01', '+01:00'],
      ['2026-12-02T06:40+0130', '+01:30'],
      ['2026-12-02 06:40:00.5+01:00', '+01:00'],
    ] as const) {
      expect((await request(base, `/api/anomalies?since=${raw.replace(' ', '%20')}`)).status).toBe(200);
      expect(view.queries.at(-1)?.from).toBe(Date.parse(`${raw.slice(0, raw.search(/\+/)).replace(' ', 'T')}${offset}`));
    }
    // %2B, the encoded +, as before; a - never becomes a space; a space elsewhere is still an error
    expect((await request(base, '/api/anomalies?since=2026-12-02T06:40:00%2B01')).status).toBe(200);
    expect(view.queries.at(-1)?.from).toBe(Date.parse('2026-12-02T06:40:00+01:00'));
    expectError(await request(base, '/api/anomalies?since=2026-12-02%2001'), 400, /since must be/);
    expectError(await request(base, '/api/anomalies?since=2026-12-02T06:40:00%20%2001'), 400, /since must be/);
  });

  it('an unknown path is a 404', async () => {
    const { base } = await serve();
    expectError(await request(base, '/api/nothing'), 404, /no such route/);
    expectError(await request(base, '/api/status/'), 404);
  });

  it('a request target that is not a path is a 400', async () => {
    const { server } = await serve();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port!, '127.0.0.1', () => {
        socket.write('GET http://elsewhere.example/api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('methods', () => {
  it.each([
    ['POST', '/api/status', 'GET, HEAD'],
    ['DELETE', '/api/anomalies/a-1', 'GET, HEAD'],
    ['GET', '/api/anomalies/a-1/ack', 'POST'],
    ['PUT', '/', 'GET, HEAD'],
  ])('%s %s is a 405 with Allow: %s', async (method, path, allow) => {
    const { base, view } = await serve();
    const res = await request(base, path, { method });
    expectError(res, 405, /not allowed/);
    expect(res.headers.allow).toBe(allow);
    expect(view.marks).toEqual([]);
  });
});

describe('POST marks', () => {
  it('ack with a note marks the episode and returns it', async () => {
    const { base, view } = await serve();
    const res = await request(base, '/api/anomalies/a-1/ack', { method: 'POST', body: JSON.stringify({ note: '  on it  ' }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(view.marks).toEqual([{ id: 'a-1', mark: 'ack', note: 'on it' }]);
    expect(res.json).toMatchObject({ id: 'a-1', mark: 'ack', markNote: 'on it' });
  });

  it('false_alarm without a body, and unmark, set and clear the mark', async () => {
    const { base, view } = await serve();
    expect((await request(base, '/api/anomalies/b-2/false_alarm', { method: 'POST' })).status).toBe(200);
    const res = await request(base, '/api/anomalies/b-2/unmark', { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(view.marks).toEqual([
      { id: 'b-2', mark: 'false_alarm', note: null },
      { id: 'b-2', mark: null, note: null },
    ]);
    expect(res.json).toMatchObject({ mark: null, markNote: null });
  });

  it.each([
    ['not json', /JSON object/],
    ['[1]', /JSON object/],
    ['{"note": 5}', /"note" must be a string/],
    ['{"notes": "x"}', /unknown field "notes"/],
    [JSON.stringify({ note: 'n'.repeat(MAX_NOTE_CHARS + 1) }), /longer than/],
  ])('ack with body %s is a 400 and marks nothing', async (body, pattern) => {
    const { base, view } = await serve();
    expectError(await request(base, '/api/anomalies/a-1/ack', { method: 'POST', body }), 400, pattern);
    expect(view.marks).toEqual([]);
  });

  it('unmark takes no note', async () => {
    const { base, view } = await serve();
    expectError(await request(base, '/api/anomalies/a-1/unmark', { method: 'POST', body: '{"note":"x"}' }), 400, /unmark takes no fields/);
    expect(view.marks).toEqual([]);
  });

  it('takes a unique id prefix of at least 8 characters, as the CLI does (tryout 13, finding 10)', async () => {
    const { base, view } = await serve();
    view.records = [
      anomalyRecord({ id: '8d83097d-1111-4000-8000-000000000000', sensor: 'pump1' }),
      anomalyRecord({ id: '8d83097e-2222-4000-8000-000000000000', sensor: 'pump1' }),
      anomalyRecord({ id: '8d83097e-3333-4000-8000-000000000000', sensor: 'pump1' }),
    ];
    const res = await request(base, '/api/anomalies/8d83097d/ack', { method: 'POST' });
    expect(res.status).toBe(200);
    expect((res.json as { id: string }).id).toBe('8d83097d-1111-4000-8000-000000000000');
    expect(view.marks).toEqual([{ id: '8d83097d-1111-4000-8000-000000000000', mark: 'ack', note: null }]);
    expect(((await request(base, '/api/anomalies/8d83097d')).json as { id: string }).id).toBe('8d83097d-1111-4000-8000-000000000000');
    expectError(await request(base, '/api/anomalies/8d83097e/ack', { method: 'POST' }), 409, /ambiguous: it matches 8d83097e-2222-.*, 8d83097e-3333-.*; give more characters/);
    expectError(await request(base, '/api/anomalies/8d8309/ack', { method: 'POST' }), 404, /needs at least 8 characters/);
    expect(view.marks).toHaveLength(1);
  });

  it("takes a stream's '/' unencoded in a series path too: the last /series is the route (tryout 13, finding 10)", async () => {
    const { base, view } = await serve();
    for (const path of ['/api/sensors/fan%202%2F%CE%B1/series', '/api/sensors/fan%202/%CE%B1/series']) {
      const res = await request(base, path);
      expect(res.status, path).toBe(200);
      expect((res.json as { stream: string }).stream).toBe('fan 2/α');
    }
    expect(view.seriesCalls.map((c) => c.sensor)).toEqual(['fan 2/α', 'fan 2/α']);
    // A stream whose own name ends in /series.
    view.histories.set('x/series', series('x/series', [T0]));
    expect((await request(base, '/api/sensors/x/series/series')).status).toBe(200);
    expectError(await request(base, '/api/sensors/nobody/here/series'), 404, /no such sensor: "nobody\/here"/);
  });

  it("filters the anomalies by device: the episodes of all of a device's streams (tryout 13, finding 8)", async () => {
    const { base, view } = await serve();
    view.records = [...view.records, anomalyRecord({ id: 'p-1', sensor: 'plug-washer/ENERGY.Power', device: 'plug-washer' })];
    const res = await request(base, '/api/anomalies?device=plug-washer&status=open');
    expect(res.status).toBe(200);
    expect((res.json as { anomalies: { id: string }[] }).anomalies.map((a) => a.id)).toEqual(['p-1']);
    expect(view.queries.at(-1)).toMatchObject({ device: 'plug-washer', status: 'open' });
    expectError(await request(base, '/api/anomalies?device='), 400, /device name must be 1 to 256 characters/);
  });

  it('answers 404 for a device it does not know, not an empty list (tryout 14, finding 3)', async () => {
    const { base, view } = await serve();
    // No stored episode matches; the daemon's streams name their devices.
    view.records = [];
    view.sensorViews = [
      { ...view.sensorViews[0], sensor: 'washer-plug/switch:0/apower', device: 'washer-plug', openEpisode: null },
      { ...view.sensorViews[1], sensor: 'Kitchen _2/Temperature', device: 'Kitchen _2' },
    ];
    // A known device with nothing stored: a healthy device's empty list.
    const healthy = await request(base, '/api/anomalies?device=washer-plug');
    expect(healthy.status).toBe(200);
    expect(healthy.json).toEqual({ anomalies: [], more: 0 });
    expectError(await request(base, '/api/anomalies?device=washer'), 404, /no such device: "washer" \(close: "washer-plug"\)/);
    expectError(await request(base, `/api/anomalies?device=${encodeURIComponent('Kitchen #2')}`), 404, /no such device: "Kitchen #2" \(close: "Kitchen _2"\)/);
    expectError(await request(base, `/api/anomalies?device=${encodeURIComponent('washer-plug/switch:0/apower')}`), 404, /is a stream of the device "washer-plug" \(filter it with \?sensor=\)/);
  });

  it('answers 404 for a stream it does not know, not an empty list, naming close ones (tryout 20, F10)', async () => {
    const { base, view } = await serve();
    view.records = [];
    view.sensorViews = [
      { ...view.sensorViews[0], sensor: 'bedroom_sensor/temperature', device: 'bedroom_sensor', openEpisode: null },
      { ...view.sensorViews[1], sensor: 'bedroom_sensor/humidity', device: 'bedroom_sensor' },
    ];
    // A known stream with nothing stored: a healthy stream's empty list.
    const healthy = await request(base, `/api/anomalies?sensor=${encodeURIComponent('bedroom_sensor/temperature')}`);
    expect(healthy.status).toBe(200);
    expect(healthy.json).toEqual({ anomalies: [], more: 0 });
    expectError(await request(base, `/api/anomalies?sensor=${encodeURIComponent('bedroom_sensor/temp')}`), 404, /no such sensor: "bedroom_sensor\/temp" \(close: "bedroom_sensor\/temperature"\)/);
    expectError(await request(base, '/api/anomalies?sensor=bedroom_sensor'), 404, /no such sensor: "bedroom_sensor" is a device \(filter it with \?device=\)/);
    const none = await request(base, '/api/anomalies?sensor=nosuch');
    expectError(none, 404, /^no such sensor: "nosuch"$/);
  });

  it('marking an unknown anomaly is a 404', async () => {
    const { base } = await serve();
    expectError(await request(base, '/api/anomalies/nope/ack', { method: 'POST' }), 404, /no such anomaly/);
  });

  it('a body over the limit is a 413, whether declared or streamed', async () => {
    const { base, view } = await serve();
    const big = JSON.stringify({ note: 'x'.repeat(MAX_COMMAND_PAYLOAD_BYTES) });
    expectError(await request(base, '/api/anomalies/a-1/ack', { method: 'POST', body: big }), 413, /larger than/);
    const chunked = await request(base, '/api/anomalies/a-1/ack', { method: 'POST', body: big, headers: { 'transfer-encoding': 'chunked' } });
    expectError(chunked, 413);
    expect(view.marks).toEqual([]);
    expect((await request(base, '/api/status')).status).toBe(200);
  });

  it('a POST from another origin is refused; one from the page’s own origin is not', async () => {
    const { base, view } = await serve();
    const host = new URL(base).host;
    expectError(await request(base, '/api/anomalies/a-1/ack', { method: 'POST', headers: { origin: 'http://evil.example' } }), 403, /cross-origin/);
    expect(view.marks).toEqual([]);
    expect((await request(base, '/api/anomalies/a-1/ack', { method: 'POST', headers: { origin: `http://${host}` } })).status).toBe(200);
  });
});

describe('guards', () => {
  it('without a token, a loopback server refuses a foreign Host header (DNS rebinding)', async () => {
    const { base, server } = await serve();
    expectError(await request(base, '/api/status', { headers: { host: `attacker.example:${server.port}` } }), 403, /Host/);
    expect((await request(base, '/api/status', { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
  });

  it('with a token, /api needs it (401 otherwise) and the page does not', async () => {
    const { base } = await serve({ token: 's3cret' });
    const missing = await request(base, '/api/status');
    expectError(missing, 401, /token/);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expectError(await request(base, '/api/status', { headers: { authorization: 'Bearer wrong' } }), 401);
    expectError(await request(base, '/api/status', { headers: { authorization: 's3cret' } }), 401);
    expect((await request(base, '/api/status', { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await request(base, '/')).status).toBe(200);
  });

  it('with a token, a POST without it marks nothing even with a valid body', async () => {
    const { base, view } = await serve({ token: 's3cret' });
    expectError(await request(base, '/api/anomalies/a-1/ack', { method: 'POST', body: '{}' }), 401);
    expect(view.marks).toEqual([]);
  });

  it('a failing view is a 500 with a generic body, is logged, and the server keeps serving', async () => {
    const { base, view, logs } = await serve();
    view.failWith = new Error('database is locked at /secret/path');
    const res = await request(base, '/api/anomalies');
    expectError(res, 500, /^internal error$/);
    expect(res.text).not.toContain('/secret/path');
    const logged = logs.lines().find((l) => l.msg === 'http route failed');
    expect((logged?.err as { message?: string } | undefined)?.message).toContain('database is locked');
    view.failWith = null;
    expect((await request(base, '/api/anomalies')).status).toBe(200);
  });
});

/** Sends raw bytes and returns everything the server answers before it closes the connection. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

function parseRaw(text: string): { status: number; headers: string; body: unknown } {
  const [head, body] = text.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head, body: JSON.parse(body) as unknown };
}

describe('errors node:http raises before the routes', () => {
  it('headers over the limit: 431 with the documented JSON body', async () => {
    const { server } = await serve();
    const res = parseRaw(await rawExchange(server.port!, `GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(res.status).toBe(431);
    expect(res.headers).toMatch(/Content-Type: application\/json; charset=utf-8/);
    expect(res.body).toEqual({ error: 'request headers too large' });
  });

  it('a malformed request line: 400 with the JSON body', async () => {
    const { server } = await serve();
    const res = parseRaw(await rawExchange(server.port!, 'BLAH\r\n\r\n'));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'malformed HTTP request' });
  });

  it('the server goes on serving after them', async () => {
    const { server, base } = await serve();
    await rawExchange(server.port!, 'BLAH\r\n\r\n');
    expect((await request(base, '/api/status')).status).toBe(200);
  });
});
