/**
 * Bytes a stored reading takes: SENSORS sensors (names of 31 characters) × 50,000 one-value readings appended as the
 * learner flushes them, then the SQLite file's size. Usage: node scripts/retention-bytes.mjs [SENSORS=10]
 */
import { SqliteStore } from '../dist/adapters/sqlite-store.js';
import pino from 'pino';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
const dir = mkdtempSync(join(tmpdir(), 'ret-bytes-'));
const path = join(dir, 'a.db');
const store = SqliteStore.open(path, { commitIntervalMs: 0, outboxMax: 10, logger: pino({ level: 'silent' }) });
const S = Number(process.argv[2] ?? 10), N = 50_000;
const t0 = Date.UTC(2026, 0, 1);
let t = performance.now();
for (let s = 0; s < S; s++) {
  const name = `home/sensor-${String(s).padStart(3, '0')}/temperature`;
  for (let k = 0; k < N; k += 4096) {
    const n = Math.min(4096, N - k);
    store.appendReadings(name, Float64Array.from({ length: n }, (_, i) => t0 + (k + i) * 1000), Float32Array.from({ length: n }, (_, i) => 20 + Math.sin(i)), 1);
  }
}
console.log('append s', ((performance.now() - t) / 1000).toFixed(2));
store.close();
const size = statSync(path).size;
rmSync(dir, { recursive: true, force: true });
console.log({ sensors: S, perSensor: N, bytes: size, perReading: (size / (S * N)).toFixed(1) });
