/**
 * Issue 10, tryout 38 finding 9: device times in local wall time without an offset (`"time":"2026-10-25T02:05:00"`,
 * ingest.timezone Europe/Berlin) across a DST end and a DST start, through the daemon (in-process: the embedded MQTT
 * broker, a real SQLite file, onnxruntime) and through `anomalyd replay --timezone Europe/Berlin` (the CLI command on
 * a CSV of the same wall times). At the DST end the hour 02:00-03:00 comes twice: the daemon read both passes at one
 * instant (the second, CET), so the first was placed an hour late and the second rejected `late`, and it told two
 * false drift episodes where replay told none. Now it reads the second pass in standard time, as replay does: every
 * reading is taken, at its own instant, and the daemon's episodes are replay's (here: the one real fault, a warm
 * spell a day after each change, and nothing else).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/replay.js';
import { loadConfig } from '../../src/config/load.js';
import type { AnomalyEvent, ScoredReading } from '../../src/contract/types.js';
import { Daemon } from '../../src/daemon.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { waitFor } from '../helpers/net.js';
import { QUIET, shippedConfigIn } from '../helpers/replay-episodes.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ZONE = 'Europe/Berlin';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `ts`'s wall-clock time in ZONE, ISO without an offset, as the device writes it. */
function wallTime(ts: number): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: ZONE, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(ts))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

/**
 * A weather sensor's temperature every 5 min from 4 days before `change` (a DST change, epoch ms) to 30 h after it: a
 * daily cycle in UTC (the sun's, not the clock's) of ±4 °C with 0.15 °C noise, and a warm spell (+6 °C for 2 h) from 24 h
 * after the change. Readings [epoch ms, °C].
 */
function readings(change: number, seed: number): Array<readonly [number, number]> {
  const rnd = lcg(seed);
  const out: Array<readonly [number, number]> = [];
  for (let t = change - 4 * DAY; t <= change + 30 * HOUR; t += 5 * MIN) {
    const noise = (rnd() + rnd() + rnd() - 1.5) * 0.3;
    const warm = t >= change + 24 * HOUR && t < change + 26 * HOUR ? 6 : 0;
    out.push([t, Math.round((5 + 4 * Math.sin(((t / HOUR - 8) / 24) * 2 * Math.PI) + noise + warm) * 10) / 10]);
  }
  return out;
}

const CHANGES = [
  { sensor: 'wxend', change: Date.UTC(2026, 9, 25, 1), seed: 3 },
  { sensor: 'wxstart', change: Date.UTC(2026, 2, 29, 1), seed: 4 },
] as const;

describe.skipIf(!builtAndModelsPresent())('device wall times without an offset across DST changes, daemon and replay', () => {
  it('takes every reading at its own instant and tells what replay --timezone tells, at a DST end and a DST start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anomalyd-dst-'));
    dirs.push(dir);
    const configPath = await shippedConfigIn(dir);
    const loaded = loadConfig({
      path: configPath,
      env: {},
      overrides: { dataDir: join(dir, 'data'), broker: { port: 0 }, http: { enabled: false }, model: { worker: false }, learning: { enabled: false }, ingest: { timezone: ZONE }, log: { level: 'silent' } },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const scored = new Map<string, number[]>();
    const events: AnomalyEvent[] = [];
    const daemon = new Daemon({
      config: loaded.config,
      logger: pino({ level: 'silent' }),
      onReading: (r: ScoredReading, evs: readonly AnomalyEvent[]) => {
        const list = scored.get(r.stream) ?? [];
        list.push(r.ts);
        scored.set(r.stream, list);
        events.push(...evs);
      },
    });
    await daemon.start();
    const series = CHANGES.map((c) => ({ ...c, rows: readings(c.change, c.seed) }));
    const stored = new Map<string, Array<{ start: number; end: number }>>();
    try {
      const client = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `dst-${process.pid}` });
      // Arrays of 50 readings, as a gateway forwards a logger's buffer (a message boundary inside the repeated hour).
      for (const s of series) {
        for (let k = 0; k < s.rows.length; k += 50) {
          const batch = s.rows.slice(k, k + 50).map(([t, v]) => ({ time: wallTime(t), value: v }));
          await client.publishAsync(`sensors/${s.sensor}`, JSON.stringify(batch), { qos: 1 });
        }
      }
      await client.endAsync();
      const total = series.reduce((n, s) => n + s.rows.length, 0);
      await waitFor(() => daemon.counters.scored >= total, 240_000, `${total} readings scored`);
      expect(daemon.counters.rejected).toBe(0);
      expect(daemon.counters.readings).toBe(total);
      // The episodes as the daemon stores and lists them (`anomalies list`): start, and end (the first reading back).
      for (const s of series) {
        const told = daemon.database!.listAnomalies({ sensor: s.sensor, limit: 100 });
        stored.set(s.sensor, told.map((a) => ({ start: a.startTs, end: a.status === 'resolved' ? a.endTs : Number.NaN })).sort((a, b) => a.start - b.start));
      }
    } finally {
      expect(await daemon.stop()).toBe(true);
    }
    for (const s of series) {
      // Every reading at the instant it was sent: none an hour off, none rejected, in time order.
      expect(scored.get(s.sensor)).toEqual(s.rows.map(([t]) => t));
      // The same readings' wall times through `anomalyd replay --timezone Europe/Berlin`.
      const csvRows = s.rows.map(([t, v]) => `${wallTime(t)},${v}`).join('\n');
      const input = join(dir, `${s.sensor}-wall.csv`);
      await writeFile(input, `time,value\n${csvRows}\n`);
      const replayed = await replayWall(dir, configPath, s.sensor, input);
      const live = stored.get(s.sensor)!;
      expect(live).toEqual(replayed);
      expect(episodesOf(events, s.sensor).map((e) => e.start)).toEqual(live.map((e) => e.start));
      // The warm spell is told, and nothing else: no episode around the DST change.
      expect(live.length).toBeGreaterThanOrEqual(1);
      for (const e of live) expect(e.start).toBeGreaterThanOrEqual(s.change + 24 * HOUR);
    }
  }, 600_000);
});

/** The daemon's episodes of `sensor`: open's start, resolve's end (NaN while open), in order. */
function episodesOf(events: readonly AnomalyEvent[], sensor: string): Array<{ start: number; end: number }> {
  const byId = new Map<string, { start: number; end: number }>();
  for (const e of events) {
    if (e.sensor !== sensor) continue;
    const ep = byId.get(e.anomalyId) ?? { start: e.startTs, end: Number.NaN };
    if (e.kind === 'resolve') ep.end = e.endTs;
    byId.set(e.anomalyId, ep);
  }
  return [...byId.values()].sort((a, b) => a.start - b.start);
}

/** `anomalyd replay --timezone Europe/Berlin` of a CSV of wall times (`time,value`): its episodes' start and end (epoch ms; NaN while open). */
async function replayWall(dir: string, config: string, sensor: string, input: string): Promise<Array<{ start: number; end: number }>> {
  const file = join(dir, `${sensor}-episodes.csv`);
  const code = await replayCommand(['--input', input, '--sensor', sensor, '--timezone', ZONE, '--output', join(dir, `${sensor}-out.csv`), '--episodes', file, '--config', config], QUIET);
  if (code !== 0) throw new Error(`replay of ${sensor} exited ${code}`);
  const rows = parse<Record<string, string>>(await readFile(file, 'utf8'), { columns: true });
  return rows.map((e) => ({ start: Date.parse(e.start), end: e.end === '' ? Number.NaN : Date.parse(e.end) }));
}
