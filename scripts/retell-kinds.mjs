// What a stream's episodes are told as the daemon tells them (SignalBook.explainAlert for the detector's events, farther,
// the retelling in data time at 4 readings and each doubling: Daemon.retellByReadings), as a backfill gets them
// (`backfill`: readings far faster than their times, no wall-clock retelling) or live at one reading per wall-clock
// retelling or slower (`live`: also Daemon.touchOpenEpisodes' retelling after every reading, a sensor read every 10 s or
// slower). Prints `<episode reading>:<event>:<kind>` for each alert (R<n>: a retelling in data time, T<n>: a wall-clock
// one, (held): an update not sent); SENT=1 adds the sentences. Shipped config and GRU model of ROOT's build.
// usage: node scripts/retell-kinds.mjs ROOT backfill|live FILE.csv   (FILE: a header `ts,value`, epoch ms; tryout 31's
// noise_room: /work/tryout-31/run/gen.py's series)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';
const root = process.argv[2];
const mode = process.argv[3] ?? 'backfill';
const csv = process.argv[4];
if (root === undefined || csv === undefined) throw new Error('usage: node scripts/retell-kinds.mjs ROOT backfill|live FILE.csv');
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
// The daemon's data-time retelling schedule (Daemon.retellByReadings) of the checkout measured; a checkout older than
// nextRetelling retold at 4 readings, then at each doubling.
const { nextRetelling = (after) => (after === null ? 4 : 2 * after) } = await import(at('dist/daemon.js'));
const { payloadOf } = await import(at('dist/replay/drive.js'));
const { pino } = await import('pino');
const model = await loadModel(join(root, 'models/gru.json'));
const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
let ids = 0;
const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => ({ model, own: false }), priorsFor: () => priorsOf(model.sidecar), newId: () => `e${++ids}` });
const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
const out = [];
const due = new Map();
const touched = new Map();
let n = 0;
let openAt = null;
const input = new Subject();
const tell = (tag, kind, s) => out.push(`${n - openAt + 1}:${tag}:${kind ?? '-'}${process.env.SENT ? ' ' + s : ''}`);
await new Promise((res, rej) => {
  input.pipe(det.operator()).subscribe({
    next: (o) => {
      if (o.type !== 'reading') return;
      n++;
      const r = o.reading;
      book.record(r);
      for (const ev of o.events) {
        if (ev.kind === 'open') openAt = n;
        const t = book.explainAlert(ev);
        if (t.repeats || t.onlyLonger) { tell(ev.kind + '(held)', t.explanation?.kind, t.explanation?.sentence); continue; }
        if (t.untold) tell('untold-update', t.explanation?.kind);
        tell(ev.kind, t.explanation?.kind, t.explanation?.sentence);
      }
      if (r.anomalyId !== null) {
        const peak = det.openPeak(r.stream);
        const far = book.farther(r, peak);
        if (far !== null) tell('far', far.explanation.kind, far.explanation.sentence);
        else if (peak !== null) {
          let d = due.get(r.stream);
          if (d === undefined || d.id !== peak.id) { d = { id: peak.id, next: nextRetelling(null), drift: false }; due.set(r.stream, d); }
          const drift = peak.excursion !== undefined && !d.drift;
          if (peak.readings >= d.next || drift) {
            if (drift) d.drift = true; else d.next = nextRetelling(peak.readings);
            const told = book.retell(peak.id, peak.lastAboveTs, peak.readings, undefined, peak.excursion);
            if (told !== null) tell(`R${peak.readings}`, told.explanation.kind, told.explanation.sentence);
          }
        }
      }
      if (mode === 'live') {
        for (const ep of det.openEpisodes()) {
          if (touched.get(ep.id) === ep.readings) continue;
          touched.set(ep.id, ep.readings);
          const told = book.retell(ep.id, ep.lastAboveTs, ep.readings, ep.held, ep.excursion);
          if (told !== null) tell(`T${ep.readings}`, told.explanation.kind, told.explanation.sentence);
        }
      }
    },
    error: rej,
    complete: res,
  });
  rows.forEach(([ts, value], k) => input.next({ topic: 'sensors/noise_room', payload: payloadOf({ sensor: 'noise_room', ts, channels: ['value'], values: [value] }), receivedAt: ts, seq: k }));
  input.complete();
});
console.log(mode, out.join('  '));
