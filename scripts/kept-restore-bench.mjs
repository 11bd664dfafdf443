#!/usr/bin/env node
// What a start's give-back of a stop's kept readings costs in ROOT's code: KeptReadings.restore (read the rows, decode,
// and in branch `keptadmit` on, judge each item by a live reading's rules: admitKept) of 16,458 one-channel readings of
// 6 streams (the tryout's 16,460 kept at one stop) from a real SQLite file, 15 times; prints the median and the least ms.
// ROOT's code before `keptadmit` takes the constructor's fourth argument for nothing (no admission).
//   node scripts/kept-restore-bench.mjs ROOT      (ROOT built: npm run build). Used for BENCHMARKS.md, branch `keptadmit`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
const root = resolve(process.argv[2] ?? '.');
const at = (p) => pathToFileURL(join(root, p)).href;
const { SqliteStore } = await import(at('dist/adapters/sqlite-store.js'));
const { KeptReadings } = await import(at('dist/daemon/kept-readings.js'));
const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'kept-restore-'));
const store = SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 100, logger: silent });
const T = Date.UTC(2026, 11, 5);
const PER = Math.round(16_460 / 6);
const item = (k) => ({ kind: 'reading', ts: T + k * 1000, values: Float64Array.of(20 + Math.sin(k)), reset: false, filled: 0, origin: { seq: k, index: 0 } });
const kept = Array.from({ length: 6 }, (_, s) => ({ stream: `s${s}`, channels: ['value'], restate: null, items: Array.from({ length: PER }, (_, k) => item(k)) }));
const subject = { busy: () => false, restoreKept: (k) => k.reduce((n, x) => n + x.items.length, 0), keptBounds: () => ({ takenTs: T + PER * 1000, channels: ['value'] }) };
const opts = { now: () => T + 86_400_000, maxFutureMs: 60_000, scoredTs: () => T - 1000 };
new KeptReadings(store, subject, silent, opts).save(kept, T);
const ms = [];
for (let i = 0; i < 15; i++) {
  const t0 = performance.now();
  const r = new KeptReadings(store, subject, silent, opts).restore();
  ms.push(performance.now() - t0);
  if (r.readings !== PER * 6) throw new Error(`gave back ${r.readings} of ${PER * 6}`);
}
ms.sort((a, b) => a - b);
console.log(JSON.stringify({ root, readings: PER * 6, medianMs: Number(ms[7].toFixed(1)), minMs: Number(ms[0].toFixed(1)) }));
store.close();
rmSync(dir, { recursive: true, force: true });
