/**
 * One length per episode (tryout 28, finding 12): `anomalies list`'s LASTED, `show`'s `lasted:` and GET
 * /api/anomalies' `lastedMs` count from when the fault began, as its sentence's `for N min since HH:MM` does, not
 * from the episode's open. A state held is told from when it began, readings before the detector opened the episode:
 * on main, LASTED was the shorter length from the open beside the sentence's longer one.
 *
 * The shipped detector and model over a zigbee2mqtt fridge plug whose compressor never stops, its events recorded in
 * a real SQLite file by the store, read back by the built CLI (a child process) and the HTTP server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpServer, type DaemonView } from '../../src/adapters/http.js';
import { DB_FILE, SqliteStore } from '../../src/adapters/sqlite-store.js';
import { topics } from '../../src/contract/alerts.js';
import type { AnomalyRecord } from '../../src/contract/store.js';
import { formatDuration } from '../../src/util/duration.js';
import { builtAndModelsPresent, MAIN } from '../helpers/daemon.js';
import { feedMessages, shippedDetector, type Explained } from '../helpers/explained.js';
import { lcg } from '../helpers/lcg.js';

const T0 = Date.UTC(2026, 11, 2, 21);
const silent = pino({ level: 'silent' });

let dir: string;
let db: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'anomalyd-lasted-'));
  db = join(dir, DB_FILE);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The shelf's fridge plug (tryout 22): 30 s at 80 ± 2 W, 60 s at 0.6 W, every second; on for `cycles` cycles from cycle `before`. */
async function fridgeHeldOn(before: number, cycles: number, after: number): Promise<{ out: Explained[]; from: number }> {
  const u = lcg(3);
  const gauss = (): number => {
    let s = 0;
    for (let i = 0; i < 6; i++) s += u();
    return (s - 3) / Math.sqrt(0.5);
  };
  const P = 90_000;
  const from = before * P;
  const to = from + cycles * P;
  const messages: { topic: string; payload: Buffer; receivedAt: number }[] = [];
  for (let t = 0; t < to + after * P; t += 1000) {
    const on = t >= from && t < to ? true : t % P < 30_000;
    const pw = on ? 80 + 2 * gauss() : 0.6 + 0.05 * gauss();
    const volt = 231 + 0.8 * gauss();
    messages.push({ topic: 'zigbee2mqtt/fridge', payload: Buffer.from(JSON.stringify({ current: Math.round((pw / volt) * 100) / 100, power: Math.round(pw * 10) / 10, voltage: Math.round(volt) })), receivedAt: T0 + t });
  }
  const { det, book } = await shippedDetector([], { presets: ['zigbee2mqtt'], timezone: 'UTC' });
  const out: Explained[] = [];
  await feedMessages(det, book, messages, out, true);
  return { out, from: T0 + from };
}

function cli(...args: string[]): string {
  return execFileSync(process.execPath, [MAIN, 'anomalies', ...args, '--db', db], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
}

/** `N min` (or `N s`, `N h`) of a sentence's `for N min since HH:MM`. */
function toldFor(sentence: string): string {
  const m = / for (\d+(?:\.\d)? (?:s|min|h|d)) since \d\d:\d\d/.exec(sentence);
  if (m === null) throw new Error(`no length in: ${sentence}`);
  return m[1];
}

describe.skipIf(!builtAndModelsPresent())('an episode whose state began readings before its open: one length everywhere', () => {
  it('list LASTED, show lasted and the API count from the sentence\'s since, and agree with its "for N min"', async () => {
    const r = await fridgeHeldOn(14, 4, 12);
    const store = SqliteStore.open(db, { commitIntervalMs: 0, outboxMax: 100_000, logger: silent });
    const t = topics();
    for (const x of r.out) store.recordEvent(x.ev, t.alerts(x.ev.sensor), x.e);
    let server: HttpServer | null = null;
    try {
      const held = store.listAnomalies({ limit: 100 }).filter((a) => a.kind === 'stuck' && a.status === 'resolved' && a.sensor === 'fridge/power');
      expect(held).toHaveLength(1);
      const a = held[0];
      const since = Date.parse(a.explanation?.since ?? '');
      // The case: the state was told from when it began, readings before the episode opened.
      expect(since).toBeGreaterThanOrEqual(r.from - 1000);
      expect(since).toBeLessThan(a.startTs);
      expect(a.beganTs).toBe(since);
      expect(a.lastedMs).toBe(a.endTs - since);
      const told = toldFor(a.sentence ?? '');
      expect(formatDuration(a.lastedMs)).toBe(told);

      // The CLI's list and show, as an operator reads them.
      const row = cli('list', '--sensor', 'fridge/power')
        .split('\n')
        .find((l) => l.startsWith(a.id.slice(0, 8)));
      const header = cli('list', '--sensor', 'fridge/power').split('\n')[0];
      expect(row?.slice(header.indexOf('LASTED')).split(/\s{2,}/)[0]).toBe(told);
      const show = cli('show', a.id);
      expect(show).toMatch(new RegExp(`^lasted: +${told}$`, 'm'));
      expect(show).toMatch(new RegExp(`^began: +${new Date(since).toISOString().replace(/[.]/g, '\\.')} `, 'm'));

      // The API: the record's beganTs and lastedMs, the same.
      const view: DaemonView = {
        now: () => T0,
        status: () => ({ version: 'test', startedAt: T0, uptimeMs: 0, counters: {}, model: null, mqtt: { url: 'mqtt://x', connected: false }, sensors: { total: 0, byStatus: { ok: 0, anomalous: 0, learning: 0, stale: 0 } }, rejections: {}, outbox: null }),
        sensors: () => [],
        series: () => null,
        anomalies: (q) => store.listAnomalies(q),
        anomalyCount: (q) => store.countAnomalies(q),
        anomaly: (id) => store.getAnomaly(id),
        markAnomaly: (id, mark, note) => store.markAnomaly(id, mark, note, 'http'),
      };
      server = new HttpServer({ host: '127.0.0.1', port: 0, logger: silent, view });
      await server.start();
      const res = await fetch(`${server.url!}/api/anomalies?sensor=fridge/power`);
      const doc = (await res.json()) as { anomalies: AnomalyRecord[] };
      const api = doc.anomalies.find((x) => x.id === a.id);
      expect(api).toMatchObject({ beganTs: since, lastedMs: a.endTs - since, startTs: a.startTs });
    } finally {
      await server?.stop();
      store.close();
    }
  }, 300_000);
});
