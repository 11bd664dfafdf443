#!/usr/bin/env node
// Where the evaluation's alarmed rows that are not labelled come from (issue 10: MSL's rows alarmed against twice the
// labelled share). Streams each file as `npm run evaluate` does (shipped config, a model learnt per file on its normal
// rows, the daemon's detector through src/replay) and splits its alarmed scored rows into:
//   inLabel   inside a labelled anomaly;
//   early     before a label, in an alarm run (episodes back to back) that reaches the label;
//   tail      after a label ended, in an alarm run that began inside or touching it (the fault's alarm outlasting it);
//   falseNear in a run touching no label that began within NEAR (100) rows after a label's end (a re-open after it);
//   falseFar  in a run touching no label, further away (a false alarm).
// Each unlabelled row is also told what kept its episode open at that reading, read from the scorer's episode
// lifecycle (StreamScorer.lifecycle, wrapped here for diagnosis only: outputs unchanged):
//   held:<kind>   an owner channel's deviation of that kind reached the hold level H (threshold − holdMargin), with
//                 how long since an owner's deviation last reached the threshold T itself (>=T now, T<=31, T<=100,
//                 T>100 readings: an episode held in the hysteresis band only), and `(late kind)` when that kind
//                 had not reached H in an owner over the episode's first 2 · score.smooth − 1 readings;
//   held:cycleCold a cycle that does not speak yet held it; held:unreturned a step that was not undone held it;
//   open          the reading opened the episode (or made a silent one an alarm);
//   close:n       below H for n readings (n < closeAfter: the close countdown);
//   other         a path other than lifecycle (an alarm state, a silence) or no record for the row.
// with every kind at H in an owner then (`kinds`), and how each alarm run ended: recovered (closeAfter below), new_normal, or end (open at the file's end).
// Uses the built JS of ROOT (dist/). One JSON object per file to OUT (JSON lines), a summary on stdout.
//
//   node scripts/alarm-rows.mjs ROOT OUT DATASETS [DATA] [--files A,B]     DATASETS: skab,msl,dev
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const NEAR = 100;
const args = process.argv.slice(2);
const filesAt = args.indexOf('--files');
const only = filesAt >= 0 ? new Set(args.splice(filesAt, 2)[1].split(',')) : null;
const [root, out, which, dataArg] = args;
if (root === undefined || out === undefined || which === undefined) {
  console.error('usage: node scripts/alarm-rows.mjs ROOT OUT skab,msl,dev [DATA] [--files A,B]');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { skabSources, mslSources, devSources } = await import(at('dist/eval/datasets.js'));
const { loadEvalConfig } = await import(at('dist/eval/evaluate.js'));
const { replayDetector } = await import(at('dist/eval/replay-detector.js'));
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { modelSidecarPath } = await import(at('dist/daemon.js'));
const { trainInWorker } = await import(at('dist/train/in-worker.js'));
const { StreamScorer, EVIDENCE } = await import(at('dist/pipeline/scorer.js'));
const data = resolve(dataArg ?? '../shared/datasets');
const config = loadEvalConfig(undefined, resolve(root));
const closeAfter = config.alerts.closeAfter;
const RECON = EVIDENCE.indexOf('reconstruction');
const EARLY = 2 * config.score.smooth - 1;

// The lifecycle's record of each reading, by time stamp (one file at a time: the files run one after another).
let record = new Map();
// Per open episode: its reading at which an owner's deviation last reached the threshold T (not only H).
const lastAbove = new WeakMap();
// Per open episode: the kinds that reached H in an owner over its first EARLY readings (2 · score.smooth − 1).
const earlyKinds = new WeakMap();
const lifecycle = StreamScorer.prototype.lifecycle;
if (typeof lifecycle !== 'function') throw new Error('StreamScorer.prototype.lifecycle is gone: update scripts/alarm-rows.mjs');
StreamScorer.prototype.lifecycle = function (s, r, adapt, dev, events) {
  const before = s.episode;
  const silentBefore = before?.silent ?? true;
  const nn = lifecycle.call(this, s, r, adapt, dev, events);
  let kindsAtH = null;
  const ep = s.episode;
  let why;
  const resolved = events.find((e) => e.kind === 'resolve');
  if (before === null && ep !== null) why = 'open';
  else if (before !== null && ep === null) why = resolved === undefined ? 'end:silent' : `end:${resolved.resolution}`;
  else if (ep === null) why = null;
  else if (silentBefore && !ep.silent) why = 'open';
  else if (s.below > 0) why = `close:${s.below}`;
  else {
    // What held it: the owners' largest kind at the hold level, else the cycle's cold hold, else the unreturned step.
    const C = s.C;
    let best = -Infinity;
    let kind = null;
    const early = earlyKinds.get(ep) ?? new Set();
    const atH = new Set();
    for (let c = 0; c < C; c++) {
      if (!ep.owners[c]) continue;
      for (let k = 0; k < EVIDENCE.length; k++) {
        if (k === RECON && s.reconJudged) continue;
        const v = dev.each[k * C + c] - dev.penalty;
        if (ep.readings <= EARLY && v >= this.holdSurprise) early.add(EVIDENCE[k]);
        if (v >= this.holdSurprise) atH.add(EVIDENCE[k]);
        if (v > best) {
          best = v;
          kind = EVIDENCE[k];
        }
      }
    }
    earlyKinds.set(ep, early);
    kindsAtH = [...atH].sort().join('+') || '-';
    if (best >= this.thresholdSurprise) lastAbove.set(ep, ep.readings);
    if (best >= this.holdSurprise) why = `held:${kind}`;
    else {
      const cold = this.scratch.get(C)?.cycHold;
      let coldHeld = false;
      if (cold !== undefined) for (let c = 0; c < C; c++) if (ep.owners[c] && cold[c] >= this.holdSurprise) coldHeld = true;
      why = coldHeld ? 'held:cycleCold' : 'held:unreturned';
    }
  }
  if (ep !== null && before === null) lastAbove.set(ep, ep.readings);
  if (why !== null) {
    if (ep !== null && why.startsWith('held:')) {
      // Readings since an owner's deviation last reached the threshold itself (not only the hold level).
      const since = ep.readings - (lastAbove.get(ep) ?? 0);
      if (ep.readings > EARLY && !why.startsWith('held:cycleCold') && !why.startsWith('held:unreturned')) why += (earlyKinds.get(ep)?.has(why.slice(5)) ?? false) ? '' : '(late kind)';
      why += since === 0 ? '>=T' : since <= 31 ? ' T<=31' : since <= 100 ? ' T<=100' : ' T>100';
    }
    const list = record.get(r.item.ts) ?? [];
    list.push({ why, kinds: kindsAtH, silent: ep?.silent ?? before?.silent ?? false, readings: (ep ?? before)?.readings ?? 0, nn });
    record.set(r.item.ts, list);
  }
  return nn;
};

const detector = replayDetector({ loadModel, shippedModel: (c) => modelSidecarPath(c), trainer: (s, o) => trainInWorker(s, o) });

/** Splits one file's alarmed scored rows (see the header). */
function split(s, alarm, recOf) {
  const whyOf = (k) => recOf(k).map((x) => x.why);
  const n = s.rows.length;
  const lab = s.labels;
  const counts = { scored: n - s.scoreFrom, labelled: 0, alarmed: 0, inLabel: 0, early: 0, tail: 0, falseNear: 0, falseFar: 0 };
  const why = {};
  const kinds = {};
  const runs = [];
  for (let k = s.scoreFrom; k < n; k++) counts.labelled += lab[k];
  // Label runs [a, b) over all rows.
  const labels = [];
  for (let k = s.scoreFrom; k < n; k++) if (lab[k] === 1 && (k === s.scoreFrom || lab[k - 1] === 0)) {
    let e = k;
    while (e < n && lab[e] === 1) e++;
    labels.push([k, e]);
  }
  let start = -1;
  for (let k = s.scoreFrom; k <= n; k++) {
    const on = k < n && alarm[k] === 1;
    if (on && start < 0) start = k;
    if (on || start < 0) continue;
    // Alarm run [start, k).
    const touching = labels.filter(([a, b]) => a <= k && b >= start);
    const lastEnd = labels.filter(([, b]) => b <= start).reduce((m, [, b]) => Math.max(m, b), -Infinity);
    const endWhy = k === n ? 'end' : (whyOf(k - 1).find((w) => w.startsWith('end:')) ?? whyOf(k).find((w) => w.startsWith('end:')) ?? 'end:?').slice(4);
    const run = { from: start - s.scoreFrom, length: k - start, labelled: 0, tail: 0, early: 0, ended: endWhy, touching: touching.length, held: {} };
    for (let j = start; j < k; j++) {
      counts.alarmed++;
      if (lab[j] === 1) {
        counts.inLabel++;
        run.labelled++;
        continue;
      }
      let cls;
      if (touching.length > 0) cls = touching.some(([a]) => a <= j) ? 'tail' : 'early';
      else cls = start - lastEnd <= NEAR ? 'falseNear' : 'falseFar';
      counts[cls]++;
      if (cls === 'tail') run.tail++;
      if (cls === 'early') run.early++;
      const w = whyOf(j).filter((x) => !x.startsWith('end:'))[0] ?? 'other';
      const key = w.startsWith('close:') ? 'close' : w;
      why[cls] ??= {};
      why[cls][key] = (why[cls][key] ?? 0) + 1;
      run.held[key] = (run.held[key] ?? 0) + 1;
      const ks = recOf(j).find((x) => x.kinds !== null)?.kinds;
      if (ks !== undefined) {
        kinds[cls] ??= {};
        kinds[cls][ks] = (kinds[cls][ks] ?? 0) + 1;
      }
    }
    runs.push(run);
    start = -1;
  }
  return { counts, why, kinds, runs };
}

const lines = [];
const add = (a, b) => {
  for (const [k, v] of Object.entries(b)) a[k] = typeof v === 'number' ? (a[k] ?? 0) + v : add(a[k] ?? {}, v);
  return a;
};
for (const d of which.split(',')) {
  const sources = (d === 'skab' ? skabSources(data) : d === 'msl' ? mslSources(data) : devSources(1)).filter((x) => only === null || only.has(x.file));
  const total = { counts: {}, why: {}, kinds: {}, ended: {} };
  for (const src of sources) {
    const s = await src.load();
    record = new Map();
    const o = await detector({ name: `${d}/${s.file}`, rows: s.rows, learnRows: s.learnRows, config });
    const recOf = (k) => (k < s.rows.length ? (record.get(s.rows[k].ts) ?? []) : []);
    const res = split(s, o.alarm, recOf);
    const f = { dataset: d, file: s.file, ...res };
    lines.push(JSON.stringify(f));
    add(total.counts, res.counts);
    add(total.why, res.why);
    add(total.kinds, res.kinds);
    for (const r of res.runs) {
      const unl = r.length - r.labelled;
      total.ended[r.ended] ??= { runs: 0, unlabelledRows: 0 };
      total.ended[r.ended].runs++;
      total.ended[r.ended].unlabelledRows += unl;
    }
    const c = res.counts;
    if (c.alarmed > 0) {
      const runs = res.runs.map((r) => `${r.from}+${r.length}${r.labelled > 0 ? `(${r.labelled} lab)` : ''} ${r.ended}[${Object.entries(r.held).map(([k, v]) => `${k} ${v}`).join(', ')}]`).join('; ');
      console.log(`  ${d} ${s.file}: alarmed ${c.alarmed} (label ${c.inLabel}, early ${c.early}, tail ${c.tail}, falseNear ${c.falseNear}, falseFar ${c.falseFar}) of ${c.scored}, labelled ${c.labelled}: ${runs}`);
    }
  }
  const c = total.counts;
  const pct = (x) => `${((100 * x) / c.scored).toFixed(2)} %`;
  console.log(`${d}: ${sources.length} files, ${c.scored} scored rows, labelled ${pct(c.labelled)}, alarmed ${pct(c.alarmed)}: in a label ${pct(c.inLabel)}, early ${pct(c.early)}, tail ${pct(c.tail)}, falseNear ${pct(c.falseNear)}, falseFar ${pct(c.falseFar)}`);
  for (const [cls, w] of Object.entries(total.why)) console.log(`  ${cls} rows by what held them: ${Object.entries(w).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const [cls, w] of Object.entries(total.kinds)) console.log(`  ${cls} rows by the kinds at H in an owner: ${Object.entries(w).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  alarm runs by how they ended (unlabelled rows in them): ${Object.entries(total.ended).map(([k, v]) => `${k} ${v.runs} (${v.unlabelledRows})`).join(', ')}`);
  lines.push(JSON.stringify({ dataset: d, summary: total }));
}
writeFileSync(out, `${lines.join('\n')}\n`);
