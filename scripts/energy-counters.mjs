#!/usr/bin/env node
// Episodes of recorded counters (CSV timestamp,value) through ROOT's detector as the daemon runs it with learning
// off (shipped GRU and config, SignalBook): per episode the kind of evidence strongest at its open (as
// scripts/counter-alarms.mjs counts it), its explanation's kind, how it ended. usage: node scripts/energy-counters.mjs ROOT FILE.csv... (files from scripts/energy-counters-gen.py)
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Subject } from 'rxjs';
import { shipped } from './lib/shipped.mjs';
const root = process.argv[2];
const { at, cfg, loadModel, Detector, detectorOptions, priorsOf, MessageParser, parseOptionsOf, SignalBook } = await shipped(root);
const { payloadOf } = await import(at('dist/replay/drive.js'));
const { pino } = await import('pino');
const model = await loadModel(join(root, 'models/gru.json'));
for (const file of process.argv.slice(3)) {
  const rows = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  let ids = 0;
  const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => ({ model, own: false }), priorsFor: () => priorsOf(model.sidecar), newId: () => `e${++ids}` });
  const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: pino({ level: 'silent' }) });
  const eps = [];
  const input = new Subject();
  const done = new Promise((res, rej) => {
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type === 'error') rej(new Error(o.detail));
        if (o.type !== 'reading') return;
        book.record(o.reading);
        for (const ev of o.events) {
          const e = book.explain(ev);
          if (ev.kind === 'open') {
            const top = (x) => Object.entries(x ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]).filter(([, v]) => Number.isFinite(v)).sort((a, b) => b[1] - a[1]);
            const dv = top(o.deviationEvidence), sv = top(o.evidence);
            eps.push({ id: ev.anomalyId, k: o.origin.seq, by: dv[0]?.[1] >= sv[0]?.[1] ? dv[0]?.[0] : sv[0]?.[0], kind: e?.kind ?? null });
          } else {
            const ep = eps.find((x) => x.id === ev.anomalyId);
            if (ep) { ep.len = ev.readings; ep.end = ev.kind; ep.res = ev.resolution; ep.lastKind = e?.kind ?? null; }
          }
        }
      },
      error: rej,
      complete: res,
    });
  });
  rows.forEach(([ts, value], k) => input.next({ topic: 'sensors/s', payload: payloadOf({ sensor: 's', ts, channels: ['value'], values: [value] }), receivedAt: ts, seq: k }));
  input.complete();
  await done;
  const by = {};
  for (const e of eps) by[e.by] = (by[e.by] ?? 0) + 1;
  console.log(`${basename(file, '.csv')} episodes ${eps.length} ${JSON.stringify(by)} :: ${eps.map((e) => `@${e.k} ${e.by}/${e.kind}->${e.lastKind ?? '-'} ${e.res ?? e.end ?? ''}`).join(' | ')}`);
}
await model.release();
