/**
 * Tryout 27, finding 4, through the daemon: a sensor read every 5 minutes (a room's temperature on its daily cycle)
 * with a spike of 3 readings and a step of 6 that returns. Each episode's end as the operator is told it (the resolve
 * alert's `end` and `ts`, the stored record's end in GET /api/anomalies, what LASTED and the dashboard show) is the
 * fault's (the first reading back), not the short means' 31 readings (on main: 2.5 hours after the spike, 3 readings
 * after the step), and the three agree. The daemon in-process with a virtual clock, its embedded broker, a real
 * SQLite file, the shipped GRU model, HTTP on this test's port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { AlertPayload } from '../../src/contract/alerts.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';
import { virtualRun } from '../helpers/in-process.js';
import { lcg } from '../helpers/lcg.js';
import { freePort, waitFor } from '../helpers/net.js';

const INTERVAL = 300_000;
const DAY = 86_400_000;
const COUNT = 1100;
/** The faults: first reading, length in readings, offset (°C). */
const FAULTS = [
  { at: 700, length: 3, offset: 4 },
  { at: 900, length: 6, offset: 3 },
] as const;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!builtAndModelsPresent())('a short fault’s end as the daemon tells it (tryout 27, finding 4)', () => {
  it('the resolve alert, the stored record and the API end each episode at the fault’s end, on a sensor read every 5 minutes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'anomalyd-fault-end-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const httpPort = await freePort();
    const loaded = loadConfig({
      path: '/dev/null',
      env: {},
      overrides: {
        dataDir,
        broker: { port: 0 },
        homeassistant: { discovery: 'off' },
        http: { port: httpPort, host: '127.0.0.1' },
        model: { dir: MODELS, worker: false },
        learning: { enabled: false },
        store: { commitIntervalMs: 0 },
      },
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const t0 = Math.floor((Date.now() - (COUNT + 10) * INTERVAL) / DAY) * DAY;
    const ts = (i: number): number => t0 + i * INTERVAL;
    let now = t0;
    const alerts: AlertPayload[] = [];
    const run = await virtualRun(loaded.config, () => now, 'fault-end', alerts, cleanups);
    const rnd = lcg(27);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    for (let i = 0; i < COUNT; i++) {
      now = ts(i);
      const fault = FAULTS.reduce((sum, f) => sum + (i >= f.at && i < f.at + f.length ? f.offset : 0), 0);
      const value = Math.round((21 + 2 * Math.sin((2 * Math.PI * i * INTERVAL) / DAY) + 0.1 * gauss() + fault) * 100) / 100;
      await run.send('sensors/room', JSON.stringify({ ts: now, value }));
    }
    await waitFor(() => alerts.filter((a) => a.event === 'resolve').length >= FAULTS.length, 10_000, 'the resolves');
    const stored = ((await (await fetch(`http://127.0.0.1:${httpPort}/api/anomalies?sensor=room`)).json()) as { anomalies: { id: string; startTs: number; endTs: number; windows: number }[] }).anomalies;
    for (const f of FAULTS) {
      const open = alerts.find((a) => a.event === 'open' && Date.parse(a.start) >= ts(f.at) && Date.parse(a.start) < ts(f.at + f.length));
      expect(open, `an episode opens in the fault at ${f.at}`).toBeDefined();
      const resolve = alerts.find((a) => a.event === 'resolve' && a.anomaly_id === open!.anomaly_id)!;
      expect(resolve, `the episode at ${f.at} resolves`).toBeDefined();
      // The first reading back is the fault's end: the resolve's end is within a reading of it (on main 30 readings
      // after the spike), its `ts` the same time.
      const end = Date.parse(resolve.end!);
      expect(end, `the end of the episode at ${f.at}`).toBeGreaterThanOrEqual(ts(f.at + f.length - 1));
      expect(end, `the end of the episode at ${f.at}`).toBeLessThanOrEqual(ts(f.at + f.length + 1));
      expect(Date.parse(resolve.ts)).toBe(end);
      // The record (what `anomalies list`, LASTED and the dashboard read) ends where the alert said.
      const record = stored.find((r) => r.id === open!.anomaly_id);
      expect(record, `the record of the episode at ${f.at}`).toMatchObject({ startTs: Date.parse(open!.start), endTs: end });
      expect(record!.windows, `the length of the episode at ${f.at}`).toBeLessThanOrEqual(f.length + 1);
    }
    // One episode per fault.
    expect(alerts.filter((a) => a.event === 'open')).toHaveLength(FAULTS.length);
  }, 240_000);
});
