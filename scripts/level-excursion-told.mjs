#!/usr/bin/env node
// How the drift of tryout 29 finding 1 is told (kind, sentence, resolution), through runReplay with `tell` (as
// `anomalyd replay` without --learn-first) with ROOT's config/default.yaml and shipped model. Uses ROOT's dist/.
//
//   node scripts/level-excursion-told.mjs ROOT [SEEDS=4] [ROWS=5400] [STEPS_MS=1000,300000] [STOP=0] [TZ=UTC]
// Streams (one row = one reading of each, every STEP ms from 2026-12-01T00:00Z): drift = 21 + N(0, 0.1), +12 over
// readings 1800 … 12600 (held from reading STOP on when STOP > 0); slow = 21 + N(0, 0.1), +4.3 over readings
// 576 … 1008, then held. Prints each episode: its rows, readings, kind, sentence and resolution.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shipped } from './lib/shipped.mjs';
const [root, seedsArg, rowsArg, stepsArg, stopArg, tzArg] = process.argv.slice(2);
const { at, cfg, loadModel } = await shipped(resolve(root));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const { runReplay } = await import(at('dist/replay/run.js'));
const config = { ...cfg, explain: { ...cfg.explain, timeZone: tzArg ?? 'UTC' } };
const SEEDS = Number(seedsArg ?? 4);
const ROWS = Number(rowsArg ?? 5400);
const STOP = Number(stopArg ?? 0);
const CH = ['drift', 'slow'];
const T0 = Date.UTC(2026, 11, 1);
function mulberry32(a) { return () => { a |= 0; a = (a + 0x6d2b79f5) | 0; let t = Math.imul(a ^ (a >>> 15), 1 | a); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
function normal(seed) { const u = mulberry32(seed); return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()); }
for (const stepMs of (stepsArg ?? '1000,300000').split(',').map(Number)) {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const g = CH.map((_, j) => normal(seed * 100 + j));
    const r2 = (v) => Math.round(v * 100) / 100;
    const rows = [];
    for (let k = 0; k < ROWS; k++) {
      const kk = STOP > 0 ? Math.min(k, STOP) : k;
      const d = kk >= 1800 ? (12 * Math.min(kk - 1800 + 1, 10800)) / 10800 : 0;
      const s = k >= 576 ? 4.3 * Math.min(1, (k - 576 + 1) / 432) : 0;
      rows.push({ sensor: 'h', ts: T0 + k * stepMs, channels: CH, values: [r2(21 + 0.1 * g[0]() + d), r2(21 + 0.1 * g[1]() + s)] });
    }
    const dir = mkdtempSync(join(tmpdir(), 'lvx-told-'));
    const res = await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir, tell: true }, () => {});
    rmSync(dir, { recursive: true, force: true });
    for (const e of res.episodes) {
      console.log(`step ${stepMs / 1000}s seed ${seed} ${e.stream}: rows ${(e.startTs - T0) / stepMs} … ${(e.endTs - T0) / stepMs}, ${e.readings} readings, ${e.kind}, ${e.resolution ?? 'open'}: ${e.sentence}`);
    }
  }
}
