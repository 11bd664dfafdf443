// The demo's simulated series (seed 7, its 'demo' injections from the learning period's end), one CSV per sensor:
// row,value,injected (1 inside an injection),kind. For offline checks of evidence against the demo (branch `msl`,
// sixteenth session: scripts/msl-ordinal-offline.py DIR demo). Usage: node scripts/demo-series.mjs ROOT OUTDIR HOURS
// INTERVAL_MS LEARN (e.g. . /tmp/demo 6 1000 3600: the demo's 1 s virtual interval and learning.minReadings).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
const [root, out, hours, ivs, learns] = process.argv.slice(2);
const { Simulator } = await import(resolve(root, 'dist/sim/simulator.js'));
const iv = Number(ivs), learn = Number(learns), start = Date.parse('2026-12-01T00:00:00Z');
const sim = new Simulator({ seed: 7, startTs: start, intervalMs: iv, anomalies: 'demo', anomaliesFrom: start + learn * iv });
const n = Math.round(Number(hours) * 3600_000 / iv);
const rows = new Map();
for (let k = 0; k < n; k++) for (const m of sim.next()) {
  if (!rows.has(m.sensor)) rows.set(m.sensor, []);
  rows.get(m.sensor).push([m.ts, m.value]);
}
const inj = sim.injected();
mkdirSync(out, { recursive: true });
for (const [s, r] of rows) {
  const mine = inj.filter((a) => a.sensor === s);
  writeFileSync(join(out, `${s}.csv`), 'row,value,injected,kind\n' + r.map(([ts, v], i) => {
    const a = mine.find((x) => ts >= x.startTs && ts <= x.endTs);
    return `${i},${v},${a ? 1 : 0},${a ? a.kind : ''}`;
  }).join('\n') + '\n');
}
console.log([...rows.keys()].join(' '), n, inj.length);
