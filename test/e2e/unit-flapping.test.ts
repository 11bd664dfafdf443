/**
 * A hub that flaps its unit (a Tasmota switched between °F and °C 12 times): a stream keeps its newest 8 unit changes
 * (MAX_UNIT_CHANGES, bounded memory), and the readings before the ones forgotten are in a unit no longer known. They
 * are left out of the series (`unitKnownFrom` says from when it answers) and `anomalyd history`, never labelled with the
 * `from` of the oldest change kept: on main, every °C reading before the 8th-last change was given as °F. Through the
 * real daemon (dist/main.js), its embedded broker and a real SQLite file, restarted on the same data directory (the
 * forgotten horizon is checkpointed with the changes).
 */
import { execFileSync } from 'node:child_process';
import { parse } from 'csv-parse/sync';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, MAIN, builtAndModelsPresent } from '../helpers/daemon.js';
import { startHubDaemon, stopHubDaemon } from '../helpers/hub-daemon.js';
import { waitFor } from '../helpers/net.js';

const TEMP = 'tasmota_th/AM2301.Temperature';
const SEC = 1000;
/** Readings per stretch in one unit, and the stretches: °F first, then °C, °F, … (12 changes). */
const STRETCH = 40;
const STRETCHES = 13;
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const tasmotaTime = (ts: number): string => new Date(ts).toISOString().slice(0, 19);
const fahrenheitAt = (i: number): boolean => Math.floor(i / STRETCH) % 2 === 0;
/** The change that made stretch k (k >= 1): its first reading's time. */
const changeAt = (k: number): number => T0 + k * STRETCH * SEC;

function message(i: number): string {
  const c = Math.round((21.5 + 0.1 * Math.sin(i / 3)) * 10) / 10;
  const f = fahrenheitAt(i);
  return JSON.stringify({ Time: tasmotaTime(T0 + i * SEC), AM2301: { Temperature: f ? Math.round((c * 1.8 + 32) * 10) / 10 : c, Humidity: 44.0 }, TempUnit: f ? 'F' : 'C' });
}

interface Series {
  ts: number[];
  value: (number | null)[][];
  min: (number | null)[][];
  max: (number | null)[][];
  unit: (string | null)[];
  unitKnownFrom?: number;
}

/** Every point given in a unit its figures cannot be in (°C below 30, °F above 60 here). */
function mislabelled(ts: readonly number[], units: readonly (string | null)[], figures: readonly (readonly (number | null)[])[]): string[] {
  const bad: string[] = [];
  ts.forEach((t, i) => {
    for (const v of figures.map((f) => f[i]).filter((x): x is number => x !== null)) {
      if (units[i] === '°C' ? !(v < 30) : units[i] === '°F' ? !(v > 60) : true) bad.push(`${new Date(t).toISOString()} ${v} ${units[i]}`);
    }
  });
  return bad;
}

describe.skipIf(!builtAndModelsPresent())('a hub that changes its unit 12 times: the 8 newest changes kept, no reading told in a wrong unit', () => {
  let daemon: DaemonProcess;
  let client: MqttClient | undefined;
  let http = '';

  beforeAll(async () => {
    ({ daemon, client, http } = await startHubDaemon({ presets: ['tasmota'], timezone: 'UTC', clientId: `unit-flap-e2e-${process.pid}` }));
    for (let i = 0; i < STRETCH * STRETCHES; i++) await client.publishAsync('tele/tasmota_th/SENSOR', message(i), { qos: 1 });
    const last = T0 + (STRETCH * STRETCHES - 1) * SEC;
    await waitFor(async () => ((await (await fetch(`${http}/api/sensors`)).json()) as { sensors: { sensor: string; lastTs: number | null }[] }).sensors.find((s) => s.sensor === TEMP)?.lastTs === last, 30_000, 'every reading scored');
  }, 120_000);

  afterAll(async () => {
    await stopHubDaemon({ daemon, client });
  });

  const check = async (when: string): Promise<void> => {
    // The 8 newest changes are those of stretches 5 to 12; the readings before stretch 4's change (the newest one
    // forgotten) are of a unit no longer known.
    const horizon = changeAt(STRETCHES - 1 - 8);
    for (const q of ['range=2h&points=5000', 'range=2h&points=40', 'range=24h']) {
      const s = (await (await fetch(`${http}/api/sensors/${encodeURIComponent(TEMP)}/series?${q}`)).json()) as Series;
      expect(s.unit, `${when} ${q}`).toHaveLength(s.ts.length);
      expect(mislabelled(s.ts, s.unit, [s.value[0], s.min[0], s.max[0]]), `${when} ${q}`).toEqual([]);
      expect(s.unitKnownFrom, `${when} ${q}`).toBe(horizon);
      expect(Math.min(...s.ts), `${when} ${q}`).toBeGreaterThanOrEqual(horizon);
      // Every stretch from it on is there, in its own unit.
      const runs = s.unit.filter((u, i) => i === 0 || u !== s.unit[i - 1]);
      expect(runs, `${when} ${q}`).toHaveLength(9);
    }
    const out = execFileSync(process.execPath, [MAIN, 'history', TEMP, '--url', http, '--range', '2h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const rows = parse<Record<string, string>>(out, { columns: true });
    expect(mislabelled(rows.map((r) => Number(r.ts_ms)), rows.map((r) => r.unit), [rows.map((r) => (r.value === '' ? null : Number(r.value)))]), when).toEqual([]);
    expect(Math.min(...rows.map((r) => Number(r.ts_ms))), when).toBeGreaterThanOrEqual(horizon);
  };

  it('the series and the history give the readings from the newest forgotten change on, each in its own unit; the same after a restart', async () => {
    await check('before the restart');
    await client?.endAsync(true);
    client = undefined;
    await daemon.stop('SIGTERM');
    await daemon.start();
    await check('after the restart');
  }, 120_000);
});
