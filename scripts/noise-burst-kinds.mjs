// What a noise burst is told, as the daemon tells it: the kind of each alert of the burst's episode and the last one,
// over seeds × retelling phases, with the shipped GRU model and config. A stream of 10 + 0.1 N(0, 1) (1 s readings,
// 4 decimals; tryout 10's `tools/pub.mjs --kind steady --fault noise --fault-size 1`), then + 1.0 N(0, 1) from its
// 1000th reading for 300 readings. The daemon retells open episodes on its wall clock (every 10 s of its
// housekeeping), so a sensor read once a second is retold every 10 readings, at some phase of its readings; one read
// every 10 s or slower after each reading (--every 1).
// Prints one line per run (`<reading>:<event>:<kind>`, R a retelling's update) and the tally of `first->last` kinds;
// noiseFrom: the episode's reading (1: its first) a noise change was first told at (min, median, max over the runs);
// spikeAfter: runs that told a spike after it.
// usage: node scripts/noise-burst-kinds.mjs ROOT [--every 10] [--phases 0,3,6,9] [--seeds 10]   (ROOT: a built checkout)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { every: { type: 'string', default: '10' }, phases: { type: 'string' }, seeds: { type: 'string', default: '10' } } });
const root = positionals[0];
if (root === undefined) throw new Error('usage: node scripts/noise-burst-kinds.mjs ROOT [--every K] [--phases 0,3,6,9] [--seeds N]');
const every = Number(opt.every);
const phases = (opt.phases ?? (every === 1 ? '0' : '0,3,6,9')).split(',').map(Number);
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
const { payloadOf } = await import(at('dist/replay/drive.js'));
const { pino } = await import('pino');
const model = await loadModel(join(root, 'models/gru.json'));
const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const NORMAL = 1000;
const tally = {};
const toldAt = [];
let spikeAfter = 0;
for (let seed = 1; seed <= Number(opt.seeds); seed++) {
  for (const phase of phases) {
    let ids = 0;
    const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => ({ model, own: false }), priorsFor: () => priorsOf(model.sidecar), newId: () => `e${++ids}` });
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
    let s = seed >>> 0;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 4294967296);
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    const values = Array.from({ length: NORMAL + 300 }, (_, i) => Math.round((10 + 0.1 * gauss() + (i >= NORMAL ? gauss() : 0)) * 1e4) / 1e4);
    const out = [];
    const input = new Subject();
    let n = 0;
    const done = new Promise((res, rej) => {
      input.pipe(det.operator()).subscribe({
        next: (o) => {
          if (o.type !== 'reading') return;
          n++;
          book.record(o.reading);
          for (const ev of o.events) {
            const e = book.explain(ev);
            if (ev.startTs >= T0 + (NORMAL - 10) * 1000) out.push(`${n - 1}:${ev.kind}:${e?.kind ?? '-'}`);
          }
          if ((n + phase) % every !== 0) return;
          for (const ep of det.openEpisodes()) {
            const told = book.retell(ep.id, ep.lastAboveTs, ep.readings);
            if (told !== null && told.event.startTs >= T0 + (NORMAL - 10) * 1000) out.push(`${n - 1}:R:${told.explanation.kind}`);
          }
        },
        error: rej,
        complete: res,
      });
    });
    values.forEach((value, k) => input.next({ topic: 'sensors/n', payload: payloadOf({ sensor: 'n', ts: T0 + k * 1000, channels: ['value'], values: [value] }), receivedAt: T0 + k * 1000, seq: k }));
    input.complete();
    await done;
    const kinds = out.map((x) => x.split(':')[2]).filter((k) => k !== '-');
    const key = `${kinds[0] ?? 'none'}->${kinds.at(-1) ?? 'none'}`;
    tally[key] = (tally[key] ?? 0) + 1;
    // The episode's reading (1: its first) at which a noise change was first told, and whether a spike was told after it.
    const at = (x) => Number(x.split(':')[0]);
    const firstNoise = out.find((x) => x.endsWith(':noise_change'));
    if (out.length > 0 && firstNoise !== undefined) toldAt.push(at(firstNoise) - at(out[0]) + 1);
    if (firstNoise !== undefined && out.slice(out.indexOf(firstNoise)).some((x) => x.endsWith(':spike'))) spikeAfter++;
    console.log(`seed ${seed} phase ${phase}: ${out.join(' ')}`);
  }
}
const last = {};
for (const [k, v] of Object.entries(tally)) last[k.split('->')[1]] = (last[k.split('->')[1]] ?? 0) + v;
const sorted = [...toldAt].sort((a, b) => a - b);
const noiseFrom = sorted.length === 0 ? null : { min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted.at(-1), runs: sorted.length };
console.log(JSON.stringify({ every, phases, seeds: Number(opt.seeds), firstToLast: tally, last, noiseFrom, spikeAfter }));
