// Do two builds' cycle finders choose the same periods? Feeds every channel of SKAB, MSL and dev (raw values, teach +
// advance, no episodes) into each build's CycleProfile and compares the period after every reading, bit for bit; prints
// the streams whose periods differ (first reading, readings differing) and a summary. --synthetic: noise-free and
// quantised square, triangle, sine and duty cycles of 8 to 2,880 readings, random walks and steps instead (where
// the rounding can decide: a noise-free cycle held exactly twice has r(P) = 0.5 exactly).
//   node scripts/cycle-agree.mjs ROOT_A ROOT_B [--synthetic] [--data /work/shared/datasets]   (built checkouts)
import { pathToFileURL } from 'node:url';
const [a, b] = [process.argv[2], process.argv[3]];
const A = (await import(pathToFileURL(`${a}/dist/pipeline/cycle.js`).href)).CycleProfile;
const B = (await import(pathToFileURL(`${b}/dist/pipeline/cycle.js`).href)).CycleProfile;
const { skabSources, mslSources, devSources } = await import(pathToFileURL(`${b}/dist/eval/datasets.js`).href);
const di = process.argv.indexOf('--data');
const root = di > 0 ? process.argv[di + 1] : '../shared/datasets';
const srcs = [...skabSources(root), ...mslSources(root), ...devSources(1)];
let streams = 0, readings = 0, differ = 0, maxd = 0, periods = 0;
const extra = process.argv.includes('--synthetic');
const series = [];
if (!extra) for (const s of srcs) {
  const st = await s.load();
  const C = st.rows[0].values.length;
  for (let j = 0; j < C; j++) series.push([`${s.dataset}/${s.file}#${j}`, st.rows.map((r) => r.values[j])]);
} else {
  let seed = 7; const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  for (const P of [8, 9, 16, 20, 24, 50, 60, 64, 100, 128, 240, 256, 300, 512, 600, 1000, 1024, 1440, 2880]) {
    for (const q of [0, 1, 0.1]) {
      const sq = [], tri = [], sin = [], duty = [];
      for (let i = 0; i < 12000; i++) {
        const ph = (i % P) / P;
        const Q = (v) => q === 0 ? v : Math.round(v / q) * q;
        sq.push(Q(ph < 0.5 ? 3 : 0));
        tri.push(Q(10 * Math.abs(ph - 0.5)));
        sin.push(Q(5 * Math.sin(2 * Math.PI * ph) + (q === 0 ? 0 : 0.3 * (rnd() - 0.5))));
        duty.push(Q(ph < 0.3 ? 8 + 0.05 * (rnd() - 0.5) : 0.05));
      }
      series.push([`sq${P}q${q}`, sq], [`tri${P}q${q}`, tri], [`sin${P}q${q}`, sin], [`duty${P}q${q}`, duty]);
    }
  }
  for (let r = 0; r < 40; r++) { const v = []; let x = 0; for (let i = 0; i < 5000; i++) { x += Math.round(rnd() * 2 - 1); v.push(x); } series.push([`walk${r}`, v]); }
  const steps = []; for (let i = 0; i < 8000; i++) steps.push(Math.floor(i / 100) % 3); series.push(['steps', steps]);
}
for (const [name, v] of series) {
  const pa = new A(), pb = new B();
  let first = -1, nd = 0, last = NaN;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    pa.teach(x, 1e9); pb.teach(x, 1e9);
    pa.advance(x, 0, false); pb.advance(x, 0, false);
    const ea = pa.period, eb = pb.period;
    if (ea !== eb) { nd++; if (first < 0) first = i; maxd = Math.max(maxd, Math.abs(ea - eb)); }
    if (ea !== last) { periods++; last = ea; }
  }
  streams++; readings += v.length;
  if (nd > 0) { differ++; console.log('DIFFER', name, 'first at', first, 'readings differing', nd); }
}
console.log({ streams, readings, differ, maxd, periodChanges: periods });
