/**
 * `anomalyd history NAME` exports a stream's readings as the daemon keeps them (tryout 25: "there is no export of
 * reading history"): a real daemon in-process on the embedded broker, a real MQTT client, the shipped models, the
 * command over the daemon's real HTTP API, its CSV read back with csv-parse.
 */
import mqtt from 'mqtt';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { historyCommand } from '../../src/cli/history.js';
import type { CommandContext } from '../../src/cli/context.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { inProcessDaemon, tempDataDir, useCleanups } from '../helpers/in-process.js';
import { waitFor } from '../helpers/net.js';

const cleanups = useCleanups();

async function history(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env: {},
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
  };
  const code = await historyCommand(args, ctx);
  return { code, out, err };
}

describe.skipIf(!builtAndModelsPresent())('anomalyd history', () => {
  it('writes every reading of the last hour as CSV, with its time, value, surprise and the episode flag, as the API gives them; a misspelt name is told the close one', async () => {
    const dataDir = tempDataDir('anomalyd-history-', cleanups);
    const { daemon, url } = await inProcessDaemon({ dataDir, brokerUrl: null, clock: null, cleanups, overrides: { http: { port: 0 }, score: { learnReadings: 8 } } });
    const api = daemon.httpUrl!;
    // 300 readings 5 s apart ending now (25 min): a slow cycle, then a jump for its last 20.
    const t0 = Date.now() - 300 * 5000;
    const value = (i: number): number => Number((20 + Math.sin(i / 15) + (i >= 280 ? 15 : 0)).toFixed(2));
    const client = await mqtt.connectAsync(url, { clientId: `history-export-${process.pid}` });
    cleanups.push(() => client.endAsync());
    for (let i = 0; i < 300; i++) await client.publishAsync('sensors/boiler', JSON.stringify({ ts: t0 + i * 5000, value: value(i) }), { qos: 1 });
    await waitFor(() => daemon.counters.scored >= 300, 60_000, 'the readings scored');

    const r = await history(['boiler', '--url', api, '--range', '1h']);
    expect(r.err).toMatch(/^boiler: 300 points from .+, every reading\n$/);
    expect(r.code).toBe(0);
    const rows = parse<Record<string, string>>(r.out, { columns: true });
    expect(Object.keys(rows[0])).toEqual(['time', 'ts_ms', 'readings', 'unit', 'value', 'min', 'max', 'expected', 'spread', 'surprise', 'threshold', 'anomalous']);
    expect(rows).toHaveLength(300);
    rows.forEach((row, i) => {
      expect(Number(row.ts_ms)).toBe(t0 + i * 5000);
      expect(row.time).toBe(new Date(t0 + i * 5000).toISOString());
      expect(Number(row.value)).toBeCloseTo(value(i), 4);
      expect(row.readings).toBe('1');
    });
    // The same points as the API's document (what the dashboard plots), surprise and episode flags included; the
    // jump's first reading is above its threshold and in an episode.
    const json = await history(['boiler', '--url', api, '--range', '1h', '--json']);
    const doc = JSON.parse(json.out) as { ts: number[]; surprise: (number | null)[]; threshold: (number | null)[]; anomalous: boolean[] };
    expect(doc.ts).toHaveLength(300);
    expect(rows.map((row) => (row.surprise === '' ? null : Number(row.surprise)))).toEqual(doc.surprise);
    expect(rows.map((row) => (row.threshold === '' ? null : Number(row.threshold)))).toEqual(doc.threshold);
    expect(rows.map((row) => row.anomalous === '1')).toEqual(doc.anomalous);
    expect(rows[280].anomalous).toBe('1');
    expect(Number(rows[280].surprise)).toBeGreaterThan(Number(rows[280].threshold));

    const typo = await history(['boilr', '--url', api]);
    expect(typo.code).toBe(1);
    expect(typo.out).toBe('');
    expect(typo.err).toMatch(/404: no such sensor: "boilr"; did you mean 'boiler'\?/);
    const badRange = await history(['boiler', '--url', api, '--range', '9d']);
    expect(badRange.code).toBe(2);
    expect(badRange.err).toMatch(/range must be a duration from 1m to 8d/);
  });
});
