// What a sensor that keeps failing is told, as the daemon tells it (the shipped GRU model and config, the detector and
// the SignalBook on this thread): tryout 11's shapes, with the tryout's generators (tools/freeze.mjs, tools/pub.mjs'
// s_burst: an LCG and Box–Muller, 10 + 0.1 N(0, 1) at 3 decimals, 1 s readings).
//   freeze: frozen at one exact value for 90 readings from readings 600, 1100, 1600, 2100, 2600 (410 readings apart,
//           tools/pub.mjs' schedule); the kind each freeze's open tells (the first freeze, and the repeats), and how
//           many of the episodes' alerts say `varies ± 0.00`.
//   burst:  ± 1.0 for 40 readings from readings 600, 1200, 1800, 2400; the kind each burst's resolve tells.
// Readings sent faster than the daemon retells (--every 0, the default: no retelling, every alert an event's), or
// retold every K readings (--every K).
// usage: node scripts/repeat-kinds.mjs ROOT [--seeds 10] [--every 0]   (ROOT: a built checkout)
import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { every: { type: 'string', default: '0' }, seeds: { type: 'string', default: '10' } } });
const root = positionals[0];
if (root === undefined) throw new Error('usage: node scripts/repeat-kinds.mjs ROOT [--seeds N] [--every K]');
const every = Number(opt.every);
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
const { payloadOf } = await import(at('dist/replay/drive.js'));
const { pino } = await import('pino');
const model = await loadModel(join(root, 'models/gru.json'));
const T0 = Date.UTC(2026, 11, 1, 18, 20, 0);
const FREEZES = [600, 1100, 1600, 2100, 2600];
const BURSTS = [600, 1200, 1800, 2400];

function gaussOf(seed) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff), s / 0x7fffffff);
  return () => {
    let u = 0;
    while (!u) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
}

/** Every event (and retelling) of the run, with its explanation: [{ ev, e }]. */
async function run(values) {
  let ids = 0;
  const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => ({ model, own: false }), priorsFor: () => priorsOf(model.sidecar), newId: () => `e${++ids}` });
  const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
  const out = [];
  const input = new Subject();
  let n = 0;
  const done = new Promise((res, rej) => {
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type === 'error') rej(new Error(o.detail));
        if (o.type !== 'reading') return;
        n++;
        book.record(o.reading);
        for (const ev of o.events) out.push({ ev, e: book.explain(ev) });
        if (every > 0 && n % every === 0) for (const ep of det.openEpisodes()) {
          const told = book.retell(ep.id, ep.lastAboveTs, ep.readings);
          if (told !== null) out.push({ ev: told.event, e: told.explanation });
        }
      },
      error: rej,
      complete: res,
    });
  });
  values.forEach((value, k) => input.next({ topic: 'sensors/s', payload: payloadOf({ sensor: 's', ts: T0 + k * 1000, channels: ['value'], values: [value] }), receivedAt: T0 + k * 1000, seq: k }));
  input.complete();
  await done;
  return out;
}

/** The events of the episode that began within `from` … `to` readings. */
function episodeAt(out, from, to) {
  const first = out.find((x) => x.ev.kind === 'open' && x.ev.startTs >= T0 + from * 1000 && x.ev.startTs <= T0 + to * 1000);
  return first === undefined ? [] : out.filter((x) => x.ev.anomalyId === first.ev.anomalyId);
}

const tally = { freezeFirstOpen: {}, freezeRepeatOpen: {}, freezeVaries0: 0, freezeAlerts: 0, burstResolve: {} };
const add = (o, k) => (o[k] = (o[k] ?? 0) + 1);
for (let seed = 1; seed <= Number(opt.seeds); seed++) {
  const g = gaussOf(seed);
  let frozen = NaN;
  const fv = Array.from({ length: 3000 }, (_, i) => {
    const f = FREEZES.find((s) => i >= s && i < s + 90);
    let v = Number((10 + 0.1 * g()).toFixed(3));
    if (f !== undefined) {
      if (i === f) frozen = v;
      v = frozen;
    }
    return v;
  });
  const fo = await run(fv);
  const line = [];
  FREEZES.forEach((f, k) => {
    const ep = episodeAt(fo, f, f + 40);
    const kind = ep.length === 0 ? 'missed' : (ep[0].e?.kind ?? 'none');
    add(k === 0 ? tally.freezeFirstOpen : tally.freezeRepeatOpen, kind);
    tally.freezeAlerts += ep.length;
    tally.freezeVaries0 += ep.filter((x) => /varies ± 0\.0+[ ,]/.test(x.e?.sentence ?? '')).length;
    line.push(`${f}:${kind}->${ep.at(-1)?.e?.kind ?? '-'}`);
  });
  const g2 = gaussOf(seed);
  const bv = Array.from({ length: 3000 }, (_, i) => Number((10 + (BURSTS.some((s) => i >= s && i < s + 40) ? 1.0 : 0.1) * g2()).toFixed(3)));
  const bo = await run(bv);
  BURSTS.forEach((b) => {
    const ep = episodeAt(bo, b - 3, b + 12);
    const kind = ep.length === 0 ? 'missed' : ep.at(-1).ev.kind !== 'resolve' ? 'open at end' : (ep.at(-1).e?.kind ?? 'none');
    add(tally.burstResolve, kind);
    line.push(`b${b}:${kind}`);
  });
  console.log(`seed ${seed}: ${line.join(' ')}`);
}
console.log(JSON.stringify({ every, seeds: Number(opt.seeds), ...tally }));
