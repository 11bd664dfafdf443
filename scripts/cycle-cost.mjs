// The period finder's cost alone: a CycleProfile fed N readings (teach + advance, as the scorer does) of a stream
// of one kind, µs of CPU a reading (amortised over the N, estimates included), and the period held at the end.
// Usage: node scripts/cycle-cost.mjs ROOT [--n 200000[,N2…]] [--kinds noise,cycle300[,day8640]]   (ROOT: a built checkout)
//   noise: uniform noise (no period: every estimate scans all lags, and the coarser levels come at 2,048 and 32,768 readings)
//   cycle300: sin(2π i / 300) + noise (a period at the finest level)
//   day8640: sin(2π i / 8,640) + noise (a day read every 10 s: found on block means at the first coarser level)
// --warmup W: first W readings of each kind through a profile not measured (the JIT compiled, as in a daemon that has
// run a while; default 0, as before this script took options, when a short first stream measured mostly compiling).
// Defaults: --n 200000 --kinds noise,cycle300 --warmup 0 (the figures of BENCHMARKS.md before this script took options).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const root = resolve(args[0] !== undefined && !args[0].startsWith('--') ? args[0] : '.');
const { CycleProfile } = await import(pathToFileURL(`${root}/dist/pipeline/cycle.js`).href);
const lengths = opt('--n', '200000').split(',').map(Number);
const kinds = opt('--kinds', 'noise,cycle300').split(',');
const warmup = Number(opt('--warmup', '0'));
const periodOf = { noise: 0, cycle300: 300, day8640: 8640 };
/** A fresh profile fed N readings of `kind` (seed 1); returns it and the CPU µs it took. */
function feed(kind, N) {
  if (!(kind in periodOf)) throw new Error(`unknown kind ${kind}`);
  let seed = 1; const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  const P = periodOf[kind];
  const c = new CycleProfile();
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const x = (P === 0 ? 0 : Math.sin(2 * Math.PI * i / P)) + rnd() - 0.5;
    c.teach(x, 10); c.advance(x, 0, false);
  }
  const u = process.cpuUsage(t0);
  return { c, us: u.user + u.system };
}
if (warmup > 0) for (const kind of kinds) feed(kind, warmup);
for (const N of lengths) {
  for (const kind of kinds) {
    const { c, us } = feed(kind, N);
    console.log(root.split('/').pop(), kind, N, (us / N).toFixed(2), 'µs/reading', 'period', c.period.toFixed(1));
  }
}
