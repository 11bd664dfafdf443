#!/usr/bin/env node
// Why the time-scale test's alarm onsets move against the unscaled run (issue 10; BENCHMARKS.md, "The time-scale
// and short-history tests"): for each file whose onsets differ (the same comparison as `npm run evaluate --
// --time-scale`), each unmatched onset is traced to its cause by re-running the file with parts of the
// perturbation only (the same seed, so the same jitter, the same rows dropped and delivered twice):
//
//   jitter         the jitter alone (no row dropped or duplicated) moves it
//   learning       only the drops and duplicates among the learning rows (a model learnt on other rows) move it
//   drop / dup     one dropped (duplicated) scored row alone moves it; its distance before the onset is given
//   several        the scored rows' drops and duplicates together move it, no single one of the 8 nearest does
//   interaction    no part alone moves it (the learning rows' and the scored rows' perturbations together)
//
// and beside each its level (the larger of the row's surprise and its deviation, -log10(1 - p); an episode opens
// at 5, so an opening row is at 5 or more unless fused evidence opened it) in the run that has the onset, and the
// largest level of the other run within one reading of it (how near the threshold the run without it came).
// Uses the built JS of ROOT (dist/), the shipped config, one file at a time (models memoised per training series).
//
//   node scripts/timescale-causes.mjs [--root .] [--data ../shared/datasets] [--scale 1m] [--seed 1]
//        [--files valve1/3.csv,T-9] [--out causes.json]
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: '.' },
    data: { type: 'string', default: '../shared/datasets' },
    scale: { type: 'string', default: '1m' },
    seed: { type: 'string', default: '1' },
    files: { type: 'string' },
    out: { type: 'string' },
  },
});
const at = (p) => pathToFileURL(resolve(values.root, p)).href;
const { skabSources, mslSources } = await import(at('dist/eval/datasets.js'));
const { evaluateStream, loadEvalConfig, compareDetections, alarmOnsets } = await import(at('dist/eval/evaluate.js'));
const { runReplay } = await import(at('dist/replay/run.js'));
const { memoTrainer } = await import(at('dist/eval/memo-trainer.js'));
const { rescaleRows, mapStream, runStarts, TIME_SCALES } = await import(at('dist/eval/transform.js'));
const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
const { modelSidecarPath } = await import(at('dist/daemon.js'));

const data = resolve(values.data);
const seed = Number(values.seed);
const intervalMs = TIME_SCALES[values.scale];
if (intervalMs === undefined) throw new Error(`--scale: 1s, 1m, 5m or 1h, got ${values.scale}`);
const config = loadEvalConfig(undefined, resolve(values.root));
const memo = memoTrainer();
/** The replay as replayDetector runs it, keeping each row's deviation too (what opens episodes with the score). */
let deviation = new Float64Array(0);
const detector = async ({ rows, learnRows, config: c }) => {
  const dir = await mkdtemp(join(tmpdir(), 'anomalyd-causes-'));
  try {
    const score = new Float64Array(rows.length);
    const alarm = new Uint8Array(rows.length);
    deviation = new Float64Array(rows.length);
    const res = await runReplay(rows, { config: c, learnRows, loadModel, shippedModel: modelSidecarPath(c), dir, trainer: memo.train, warn: () => undefined }, (o) => {
      score[o.index] = o.surprise;
      alarm[o.index] = o.anomaly ? 1 : 0;
      deviation[o.index] = o.deviation ?? Number.NaN;
    });
    return { score, alarm, counts: {}, learnSeconds: res.learnSeconds, runSeconds: res.runSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
const sources = [...skabSources(data), ...mslSources(data)];
const only = values.files?.split(',').map((f) => f.trim());
const chosen = only === undefined ? sources : sources.filter((s) => only.includes(s.file));

/** The stream re-stamped with the jitter of `seed`, dropping `drop` and duplicating `dup` (input row sets). */
function build(stream, jittered, drop, dup) {
  const rows = [];
  const source = [];
  for (let i = 0; i < stream.rows.length; i++) {
    if (drop.has(i)) continue;
    const row = { ...stream.rows[i], ts: jittered[i] };
    rows.push(row);
    source.push(i);
    if (dup.has(i)) {
      rows.push(row);
      source.push(i);
    }
  }
  return mapStream(stream, { rows, source: Int32Array.from(source) });
}

const near = (list, x) => list.some((y) => Math.abs(y - x) <= 1);
/** Whether run `v`'s onsets show the discrepancy: base onset `x` missing (side 'base') or extra onset `x` (side 'other'). */
const shows = (onsets, side, x) => (side === 'base' ? !near(onsets, x) : near(onsets, x));
/** Largest level (max of the row's score and deviation) of `run` over scored rows whose original row is within one of `x`. */
function levelNear(run, x) {
  let best = -Infinity;
  for (let j = 0; j < run.origin.length; j++) if (Math.abs(run.origin[j] - x) <= 1) best = Math.max(best, run.level[j]);
  return best;
}
/** The level at the first scored row from original row `x` on. */
function levelAt(run, x) {
  for (let j = 0; j < run.origin.length; j++) if (run.origin[j] >= x) return run.level[j];
  return NaN;
}

const report = [];
for (const src of chosen) {
  const stream = await src.load();
  const n = stream.rows.length;
  const starts = runStarts(stream.labels);
  const keep = (i) => starts.has(i);
  const full = rescaleRows(stream.rows, { intervalMs, seed, keep });
  const kept = new Set(full.source);
  const drops = new Set();
  for (let i = 0; i < n; i++) if (!kept.has(i)) drops.add(i);
  const dups = new Set();
  for (let j = 1; j < full.source.length; j++) if (full.source[j] === full.source[j - 1]) dups.add(full.source[j]);
  const jittered = Float64Array.from(rescaleRows(stream.rows, { intervalMs, seed, keep, drop: 0, duplicates: 0 }).rows, (r) => r.ts);
  const run = async (s) => {
    const r = await evaluateStream(s, detector, config);
    const dev = deviation.slice(s.scoreFrom);
    return { ...r, level: Float64Array.from(r.score, (x, j) => Math.max(x, dev[j])) };
  };
  const base = await run(stream);
  const perturbed = await run(build(stream, jittered, drops, dups));
  const cmp = compareDetections(base, perturbed);
  const line = { dataset: src.dataset, file: src.file, learnRows: stream.learnRows, scoreFrom: stream.scoreFrom, drops: [...drops], dups: [...dups], base: cmp.baseAt, other: cmp.otherAt, causes: [] };
  report.push(line);
  console.error(`${src.dataset} ${src.file}: onsets ${JSON.stringify(cmp.baseAt)} -> ${JSON.stringify(cmp.otherAt)}${cmp.same ? ' (same)' : ''}`);
  if (cmp.same) continue;
  const none = new Set();
  const sub = (set, pred) => new Set([...set].filter(pred));
  const learning = (i) => i < stream.learnRows;
  const onsetsOf = async (drop, dup) => alarmOnsets(await run(build(stream, jittered, drop, dup)));
  const vJitter = await onsetsOf(none, none);
  const vLearn = await onsetsOf(sub(drops, learning), sub(dups, learning));
  const vScored = await onsetsOf(sub(drops, (i) => !learning(i)), sub(dups, (i) => !learning(i)));
  const discrepancies = [
    ...cmp.baseAt.filter((x) => !near(cmp.otherAt, x)).map((x) => ({ side: 'base', x })),
    ...cmp.otherAt.filter((x) => !near(cmp.baseAt, x)).map((x) => ({ side: 'other', x })),
  ];
  for (const { side, x } of discrepancies) {
    let cause;
    let detail = '';
    if (shows(vJitter, side, x)) cause = 'jitter';
    else if (shows(vLearn, side, x)) cause = 'learning';
    else if (shows(vScored, side, x)) {
      // The nearest scored perturbations at or before the onset (within one reading after it), one at a time.
      const candidates = [...[...drops].map((i) => ({ i, kind: 'drop' })), ...[...dups].map((i) => ({ i, kind: 'dup' }))]
        .filter((p) => !learning(p.i) && p.i <= x + 1)
        .sort((a, b) => b.i - a.i)
        .slice(0, 8);
      cause = 'several';
      for (const p of candidates) {
        const v = await onsetsOf(p.kind === 'drop' ? new Set([p.i]) : none, p.kind === 'dup' ? new Set([p.i]) : none);
        if (shows(v, side, x)) {
          cause = p.kind;
          detail = `row ${p.i}, ${x - p.i} before`;
          break;
        }
      }
      if (cause === 'several') detail = `nearest tried: ${candidates.map((p) => `${p.kind} ${p.i}`).join(', ')}`;
    } else cause = 'interaction';
    const mine = side === 'base' ? base : perturbed;
    const theirs = side === 'base' ? perturbed : base;
    const c = { side, onset: x, cause, detail, levelAtOnset: levelAt(mine, x), otherMaxNear: levelNear(theirs, x), otherNearest: (side === 'base' ? cmp.otherAt : cmp.baseAt).reduce((a, y) => (Math.abs(y - x) < Math.abs(a - x) ? y : a), Infinity) };
    line.causes.push(c);
    console.error(`  ${side === 'base' ? 'unscaled' : 'perturbed'} onset ${x} (nearest in the other run ${c.otherNearest}): ${cause} ${detail}; level there ${c.levelAtOnset.toFixed(2)}, the other's largest within 1 reading ${c.otherMaxNear.toFixed(2)}`);
  }
}
if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(report, null, 1)}\n`);
