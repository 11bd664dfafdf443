#!/usr/bin/env node
// How a fast ramp is told reading by reading (tryout 30 F5: a +12 °C/h ramp told five kinds in turn), through runReplay
// with `tell` (as `anomalyd replay`) with ROOT's config/default.yaml and shipped model. Uses ROOT's dist/.
//
//   node scripts/drift-ramp-told.mjs ROOT [SEEDS=1,2,3,4] [STEP_MS=10000] [RAMP=360] [RISE=12] [HOLD=1440]
// One stream: 21 + N(0, 0.1) to 0.01 every STEP ms, +RISE over RAMP readings from reading 1,800, then held HOLD
// readings. Prints per seed each change of the told kind (`row:kind`, `*`: told from the level excursion, `-`: no
// episode open) and each episode: its rows, readings, kind, resolution and sentence.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shipped } from './lib/shipped.mjs';
const [root, seeds='1,2,3,4', stepArg='10000', rampArg='360', riseArg='12', holdArg='1440'] = process.argv.slice(2);
const { at, cfg, loadModel } = await shipped(resolve(root));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const { runReplay } = await import(at('dist/replay/run.js'));
const config = { ...cfg, explain: { ...cfg.explain, timeZone: 'UTC' } };
function mulberry32(a) { return () => { a |= 0; a = (a + 0x6d2b79f5) | 0; let t = Math.imul(a ^ (a >>> 15), 1 | a); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
function normal(seed) { const u = mulberry32(seed); return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()); }
const T0 = Date.UTC(2026, 11, 1); const step = Number(stepArg); const ON = 1800; const RAMP = Number(rampArg); const RISE = Number(riseArg);
for (const seed of seeds.split(',').map(Number)) {
  const g = normal(seed * 100);
  const rows = [];
  for (let k = 0; k < ON + RAMP + Number(holdArg); k++) {
    const d = k >= ON ? RISE * Math.min(1, (k - ON + 1) / RAMP) : 0;
    rows.push({ sensor: 'h', ts: T0 + k * step, channels: ['t'], values: [Math.round((21 + 0.1 * g() + d) * 100) / 100] });
  }
  const dir = mkdtempSync(join(tmpdir(), 'dk2-'));
  const seq = [];
  let prev = '';
  let i = 0;
  const res = await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir, tell: true }, (o) => {
    const t = o.told[0];
    const key = t === undefined ? '-' : `${t.kind}${/drifting/.test(t.sentence ?? '') ? '*' : ''}`;
    if (key !== prev) seq.push(`${i}:${key}`);
    prev = key; i++;
  });
  rmSync(dir, { recursive: true, force: true });
  console.log(`seed ${seed}: ${seq.join(' ')}`);
  for (const e of res.episodes) console.log(`  rows ${(e.startTs - T0) / step} … ${(e.endTs - T0) / step}, ${e.readings}, ${e.kind}, ${e.resolution ?? 'open'}: ${e.sentence}`);
}
