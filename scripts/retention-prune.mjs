/**
 * The readings table of one 1 Hz sensor after `days` days of the learner's flushes (4,096 readings at a time), with the
 * store's default retention (src/adapters/sqlite-store.ts readingsKept): rows kept, the file's size, the time taken and
 * the slowest append (a prune). Usage: node scripts/retention-prune.mjs [DAYS=7] [ROOT=.] (ROOT: a built checkout).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';

const root = resolve(process.argv[3] ?? '.');
const { SqliteStore } = await import(pathToFileURL(join(root, 'dist/adapters/sqlite-store.js')).href);
// One 1 Hz sensor's readings appended as the learner flushes them (4,096 at most at a time), for `days` days.
const days = Number(process.argv[2] ?? 7);
const dir = mkdtempSync(join(tmpdir(), 'ret-prune-'));
const path = join(dir, 'a.db');
const store = SqliteStore.open(path, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
const N = days * 86_400, t0 = Date.UTC(2026, 0, 1), name = 'home/sensor-001/temperature';
let worst = 0;
const t = performance.now();
for (let k = 0; k < N; k += 4096) {
  const n = Math.min(4096, N - k);
  const a = performance.now();
  store.appendReadings(name, Float64Array.from({ length: n }, (_, i) => t0 + (k + i) * 1000), Float32Array.from({ length: n }, (_, i) => 20 + Math.sin(i)), 1);
  worst = Math.max(worst, performance.now() - a);
}
const total = (performance.now() - t) / 1000;
console.log({ appended: N, kept: store.countReadings(name), totalS: total.toFixed(2), worstAppendMs: worst.toFixed(1), bytes: statSync(path).size });
store.close();
rmSync(dir, { recursive: true, force: true });
