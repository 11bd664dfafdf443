/**
 * A history loaded over MQTT at full speed, then read back as the operator reads it (tryout 38, finding 4): a real
 * mosquitto, a daemon in-process on a real SQLite file, JSON arrays of 2,000 readings `{"ts": …}` per message (QoS 1),
 * `anomalyd history` over the daemon's HTTP API. Nine streams of 16 days at 5 min, a meter of 60 days at 1 h and a CO2
 * sensor of 2 days at 30 s close about 61,000 minute and quarter-hour buckets in seconds; the daemon wrote them once a
 * minute and kept 50,000 queued: the streams loaded first lost their buckets (`anomalyd history wx0/temperature --range
 * 7d` gave 1 point, the dashboard "(1 points)"). Every stream must show every reading of the span, in the 7-day and the
 * 24-hour view, and again after a restart, from the SQLite file.
 */
import mqtt from 'mqtt';
import { parse } from 'csv-parse/sync';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyCommand } from '../../src/cli/history.js';
import { TIER_WIDTH_MS } from '../../src/contract/series.js';
import { captureIo } from '../helpers/cli-io.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { mosquittoAvailable, startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** `anomalyd history NAME --range RANGE` against `api`: its exit status, its CSV rows and its line on stderr. */
async function history(api: string, name: string, range: string): Promise<{ code: number; rows: Record<string, string>[]; err: string }> {
  const io = captureIo();
  const code = await historyCommand([name, '--url', api, '--range', range], io);
  return { code, rows: code === 0 ? parse<Record<string, string>>(io.out, { columns: true }) : [], err: io.err };
}

/** One device's readings: `n` readings `stepMs` apart ending at `end` (epoch ms), each with these fields. */
function readings(end: number, n: number, stepMs: number, fields: Record<string, (i: number) => number>): Record<string, number>[] {
  return Array.from({ length: n }, (_, i) => {
    const r: Record<string, number> = { ts: end - (n - 1 - i) * stepMs };
    for (const [f, v] of Object.entries(fields)) r[f] = Number(v(i).toFixed(2));
    return r;
  });
}

describe.skipIf(!builtAndModelsPresent() || !mosquittoAvailable())('a history loaded over MQTT in the dashboard series (tryout 38, finding 4)', () => {
  it('every backfilled stream shows all its readings in `anomalyd history` at 7 d and 24 h, at 5 min, 1 h and 30 s, in batches of 2,000, and after a restart from the SQLite file', async () => {
    const broker = await startMosquitto(cleanups);
    const dataDir = tempDataDir('anomalyd-series-backfill-', cleanups);
    // The history ends 10 min into the quarter-hour before this one: every reading in the past.
    const Q = TIER_WIDTH_MS[2];
    const end = Math.floor(Date.now() / Q) * Q - Q + 10 * MIN;
    const weather = (k: number) => ({
      temperature: (i: number) => 5 + 4 * Math.sin((i / 288) * 2 * Math.PI) + ((i * 7 + k) % 5) / 10,
      humidity: (i: number) => 80 - 15 * Math.sin((i / 288) * 2 * Math.PI) + ((i * 3 + k) % 7) / 5,
      pressure: (i: number) => 1013 + 3 * Math.sin(i / 864) + ((i + k) % 3) / 10,
    });
    const devices: { topic: string; rows: Record<string, number>[] }[] = [
      ...[0, 1, 2].map((k) => ({ topic: `sensors/wx${k}`, rows: readings(end, 16 * 288, 5 * MIN, weather(k)) })),
      { topic: 'sensors/meter0', rows: readings(end, 60 * 24, HOUR, { total: (i) => 12345 + i * 0.7 + (i % 24 < 8 ? 0 : 0.3 * (i % 24)) }) },
      { topic: 'sensors/co20', rows: readings(end, 2 * 2880, 30_000, { co2: (i) => 600 + 200 * Math.sin((i / 2880) * 2 * Math.PI) + (i % 11) }) },
    ];
    const total = devices.reduce((n, d) => n + d.rows.length * (Object.keys(d.rows[0]).length - 1), 0);

    const start = async () => inProcessDaemon({ dataDir, brokerUrl: broker.url, clock: null, cleanups, overrides: { ingest: { maxPayloadBytes: 1_048_576 }, explain: { timeZone: 'UTC' } } });
    let { daemon } = await start();
    const client = await mqtt.connectAsync(broker.url, { clientId: `series-backfill-${process.pid}` });
    cleanups.push(() => client.endAsync());
    // As the tryout's publish.sh: each device's batches in turn, 2,000 readings a message, QoS 1, no pause.
    for (const d of devices) for (let k = 0; k < d.rows.length; k += 2000) await client.publishAsync(d.topic, JSON.stringify(d.rows.slice(k, k + 2000)), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= total, 240_000, `the ${total} readings scored`);

    /** Each stream's readings at or after `from` (epoch ms), by stream name. */
    const expected = (from: number): Map<string, number> => {
      const m = new Map<string, number>();
      for (const d of devices) for (const f of Object.keys(d.rows[0]).filter((f) => f !== 'ts')) m.set(`${d.topic.slice('sensors/'.length)}/${f}`, d.rows.filter((r) => r.ts >= from).length);
      return m;
    };
    const check = async (when: string): Promise<void> => {
      const api = daemon.httpUrl!;
      // 7 days from quarter-hours: the readings of the quarter-hours from the one the span begins in; 24 h from minutes.
      for (const [range, from, width, source] of [
        ['7d', end - 7 * DAY, Q, 'quarter-hours'],
        ['24h', end - DAY, TIER_WIDTH_MS[1], 'minutes'],
      ] as const) {
        for (const [stream, n] of expected(Math.floor(from / width) * width)) {
          const r = await history(api, stream, range);
          expect(r.code, `${when}: ${stream} ${range}: ${r.err}`).toBe(0);
          expect(r.err, `${when}: ${stream} ${range}`).toContain(`from the ${source}`);
          const counted = r.rows.reduce((t, row) => t + Number(row.readings), 0);
          expect(counted, `${when}: readings of ${stream} in the last ${range}`).toBe(n);
          expect(Number(r.rows.at(-1)!.ts_ms), `${when}: ${stream} ${range}: its newest point`).toBe(Math.floor(end / width) * width + width / 2);
        }
      }
      const status = (await (await fetch(`${api}/api/status`)).json()) as { seriesBucketsDropped?: number };
      expect(status.seriesBucketsDropped, when).toBeUndefined();
    };
    await check('after the backfill');

    // A clean stop and a start on the same file: the views come from the SQLite file's buckets.
    await daemon.stop();
    const db = new Database(join(dataDir, 'anomalyd.db'), { readonly: true });
    try {
      // The quarter-hours of the 7-day view, in the file: every reading of them.
      const from = Math.floor((end - 7 * DAY) / Q) * Q;
      const quarters = db.prepare('SELECT stream, sum(count) AS n FROM series_buckets WHERE tier = 2 AND start_ts >= ? GROUP BY stream').all(from) as { stream: string; n: number }[];
      expect(new Map(quarters.map((q) => [q.stream, q.n]))).toEqual(expected(from));
    } finally {
      db.close();
    }
    ({ daemon } = await start());
    await check('after a restart');
  }, 300_000);
});
