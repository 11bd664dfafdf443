// The period finder's cost alone: a CycleProfile fed 200,000 readings of noise, then of a cycle of 300 readings (µs of CPU a reading).
// Usage: node scripts/cycle-cost.mjs ROOT   (ROOT: a built checkout)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const root = resolve(process.argv[2] ?? '.');
const { CycleProfile } = await import(pathToFileURL(`${root}/dist/pipeline/cycle.js`).href);
let seed = 1; const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
const N = 200000;
for (const kind of ['noise', 'cycle300']) {
  const c = new CycleProfile();
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const x = (kind === 'noise' ? 0 : Math.sin(2 * Math.PI * i / 300)) + rnd() - 0.5;
    c.teach(x, 10); c.advance(x, 0, false);
  }
  const u = process.cpuUsage(t0);
  console.log(root.split('/').pop(), kind, ((u.user + u.system) / N).toFixed(2), 'µs/reading', 'period', c.period.toFixed(1));
}
