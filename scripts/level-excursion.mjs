#!/usr/bin/env node
// Tryout 29 finding 1 (a slow drift far beyond a steady stream's normal) and streams whose normal is to wander,
// through runReplay (as `anomalyd replay` without --learn-first) with ROOT's config/default.yaml and shipped model.
// Per seed and stream: the first alarmed row (or -), the episodes' count. Uses the built JS of ROOT (dist/).
//
//   node scripts/level-excursion.mjs ROOT [SEEDS=8] [ROWS=12600]
// Streams (one row = one reading of each, every STEP s): drift = 21 + N(0, 0.1), +12 over readings 1800 … 12600
// (tryout 29 a); slow = 21 + N(0, 0.1), +4.3 over readings 576 … 1008, then held (tryout 29 b, 432 readings);
// walk (step N(0, 0.1)); hidden = a walk of step N(0, 0.01) under N(0, 0.1); counter (+1 ± 0.2 a reading);
// weather (AR(1) of time constant 360 readings, sd 2, plus N(0, 0.05)); noise = 21 + N(0, 0.1) throughout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [root, seedsArg, rowsArg] = process.argv.slice(2);
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { loadConfig } = await import(at('dist/config/load.js'));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const { runReplay } = await import(at('dist/replay/run.js'));
const loaded = loadConfig({ path: join(resolve(root), 'config', 'default.yaml'), env: {}, overrides: { model: { dir: join(resolve(root), 'models') } } });
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const config = loaded.config;
const SEEDS = Number(seedsArg ?? 8);
const ROWS = Number(rowsArg ?? 12600);
const CH = ['drift', 'slow', 'walk', 'hidden', 'counter', 'weather', 'noise'];
function mulberry32(a) { return () => { a |= 0; a = (a + 0x6d2b79f5) | 0; let t = Math.imul(a ^ (a >>> 15), 1 | a); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
function normal(seed) { const u = mulberry32(seed); return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()); }
for (const stepMs of [1000, 300_000]) {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const g = CH.map((_, j) => normal(seed * 100 + j));
    let walk = 20, hidden = 20, counter = 1000, weather = 0;
    const a = Math.exp(-1 / 360);
    const r2 = (v) => Math.round(v * 100) / 100;
    const rows = [];
    for (let k = 0; k < ROWS; k++) {
      const d = k >= 1800 ? 12 * (k - 1800 + 1) / 10800 : 0;
      const s = k >= 576 ? 4.3 * Math.min(1, (k - 576 + 1) / 432) : 0;
      walk += 0.1 * g[2](); hidden += 0.01 * g[3]();
      counter += Math.max(0, 1 + 0.2 * g[4]());
      weather = a * weather + Math.sqrt(1 - a * a) * 2 * g[5]();
      rows.push({ sensor: 'h', ts: Date.UTC(2026, 11, 1) + k * stepMs, channels: CH, values: [r2(21 + 0.1 * g[0]() + d), r2(21 + 0.1 * g[1]() + s), r2(walk), r2(hidden + 0.1 * g[3]()), r2(counter), r2(15 + weather + 0.05 * g[5]()), r2(21 + 0.1 * g[6]())] });
    }
    const dir = mkdtempSync(join(tmpdir(), 'lvx-'));
    const first = CH.map(() => -1), eps = CH.map(() => 0), prev = CH.map(() => false);
    let i = 0;
    await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir }, (o) => {
      const now = CH.map(() => false);
      for (const c of o.anomalousChannels) now[c] = true;
      CH.forEach((_, c) => { if (now[c] && !prev[c]) { eps[c]++; if (first[c] < 0) first[c] = i; } prev[c] = now[c]; });
      i++;
    });
    rmSync(dir, { recursive: true, force: true });
    console.log(`step ${stepMs / 1000}s seed ${seed}: ` + CH.map((n, c) => `${n} ${first[c] < 0 ? '-' : first[c]}/${eps[c]}`).join('  '));
  }
}
