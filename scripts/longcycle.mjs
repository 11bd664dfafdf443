#!/usr/bin/env node
// A day's cycle read every 10 s, 30 s, 60 s (8,640 / 2,880 / 1,440 readings per cycle: beyond the cycle finder's
// 1,024) and 5 min (288 per cycle, the control), five simulated days each, through the CLI replay with the shipped
// config and the shipped generic model (as the daemon scores a new sensor), exactly as a user would run it:
//   node ROOT/dist/main.js replay --input DIR/<rate>.csv --sensor-column sensor --output DIR/<rate>.out.csv
// Deterministic (mulberry32). Per rate, one file with these sensors (each its own stream):
//   clean-1 … clean-3   no fault (three seeds): every episode after the learning period is false
//   shift-0 … shift-75  +3 °C from the onset to the end, begun at 00:00, 06:00, 12:00, 18:00 of day 3
//   stuck               the value freezes for 2 h from 12:00 of day 3
//   spike               one reading +5 °C at 12:00 of day 3
//   noise               the sensor noise ×5 for 1 h from 12:00 of day 3
// The signal (a room or greenhouse temperature, °C): 20 + 3 sin(2π (t − 9 h) / day) + 0.9 sin(4π (t − 9 h) / day + 1)
// + weather (an AR(1) in time, time constant 12 h, sd 1 °C) + sensor noise N(0, 0.1), quantised to 0.1 °C, one
// reading in 500 missing (an empty value). The weather and noise are drawn per sensor (seed), the same draws for a
// faulty sensor and clean-1.
// Prints per rate and sensor: episodes after the learning period before the onset (false), per day; for a fault,
// whether an episode was open within the window after the onset (shift 2 h, stuck 2 h, spike 1 reading, noise
// 1 h), the delay to it (readings and minutes), how long the fault's episodes stayed open over the fault, and how
// they ended (resolved while the fault lasts, new normal, still open).
//
//   node scripts/longcycle.mjs --root /work/wt/longcycle --dir /tmp/longcycle [--rates 10,30,60,300] [--json OUT]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const { values: args } = parseArgs({
  options: { root: { type: 'string', default: '.' }, dir: { type: 'string', default: '/tmp/longcycle' }, rates: { type: 'string', default: '10,30,60,300' }, json: { type: 'string' }, days: { type: 'string', default: '5' }, only: { type: 'string' }, 'fault-day': { type: 'string', default: '3' }, weather: { type: 'string', default: '1' } },
});
const root = resolve(args.root);
const dir = resolve(args.dir);
mkdirSync(dir, { recursive: true });
const DAY = 86400;
const DAYS = Number(args.days);
const ORIGIN = Date.UTC(2026, 0, 5) / 1000; // a midnight, UTC

// The generator of the trainer (src/train/rng.ts), from the checkout measured.
const { mulberry32 } = await import(pathToFileURL(join(root, 'dist/train/rng.js')).href);
function gauss(rng) {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

const FAULT_AT = (Number(args['fault-day']) - 1) * DAY; // 00:00 of day --fault-day (3)
const WEATHER = Number(args.weather); // sd of the weather, °C
const sensors = [
  { name: 'clean-1', seed: 1 },
  { name: 'clean-2', seed: 2 },
  { name: 'clean-3', seed: 3 },
  ...[0, 6, 12, 18].map((h) => ({ name: `shift-${h}h`, seed: 1, fault: { kind: 'shift', at: FAULT_AT + h * 3600, len: Infinity, window: 2 * 3600 } })),
  { name: 'stuck', seed: 1, fault: { kind: 'stuck', at: FAULT_AT + 12 * 3600, len: 2 * 3600, window: 2 * 3600 } },
  { name: 'spike', seed: 1, fault: { kind: 'spike', at: FAULT_AT + 12 * 3600, len: 0, window: 0 } },
  { name: 'noise', seed: 1, fault: { kind: 'noise', at: FAULT_AT + 12 * 3600, len: 3600, window: 3600 } },
].filter((s) => args.only === undefined || args.only.split(',').includes(s.name));

/** One sensor's readings at `dt` s: [t (epoch s), value or null]. */
function series(s, dt) {
  const rng = mulberry32(s.seed * 1000 + dt);
  const n = Math.round((DAYS * DAY) / dt);
  const a = Math.exp(-dt / (12 * 3600));
  const innov = Math.sqrt(1 - a * a);
  let w = gauss(rng);
  const out = [];
  let frozen = null;
  for (let i = 0; i < n; i++) {
    const t = i * dt;
    w = a * w + innov * gauss(rng);
    const p = (2 * Math.PI * (t - 9 * 3600)) / DAY;
    let noiseSd = 0.1;
    let x = 20 + 3 * Math.sin(p) + 0.9 * Math.sin(2 * p + 1) + WEATHER * w;
    const f = s.fault;
    const inFault = f !== undefined && t >= f.at && (f.kind === 'spike' ? t < f.at + dt : t < f.at + f.len);
    if (inFault && f.kind === 'noise') noiseSd = 0.5;
    x += noiseSd * gauss(rng);
    if (inFault && f.kind === 'shift') x += 3;
    if (inFault && f.kind === 'spike') x += 5;
    x = Math.round(x * 10) / 10;
    if (inFault && f.kind === 'stuck') {
      if (frozen === null) frozen = x;
      x = frozen;
    }
    const missing = rng() < 0.002 && !(inFault && f.kind === 'spike');
    out.push([ORIGIN + t, missing ? null : x]);
  }
  return out;
}

function fmtMin(readings, dt) {
  return `${readings} (${((readings * dt) / 60).toFixed(0)} min)`;
}

const results = {};
for (const dt of args.rates.split(',').map(Number)) {
  const input = join(dir, `temp_${dt}s.csv`);
  const output = join(dir, `temp_${dt}s.out.csv`);
  const lines = ['timestamp,sensor,value'];
  const perSensor = new Map();
  for (const s of sensors) {
    const rows = series(s, dt);
    perSensor.set(s.name, rows);
  }
  // Interleave by time, as a hub publishes them.
  const n = perSensor.get(sensors[0].name).length;
  for (let i = 0; i < n; i++) for (const s of sensors) {
    const [t, v] = perSensor.get(s.name)[i];
    lines.push(`${t},${s.name},${v === null ? '' : v.toFixed(1)}`);
  }
  writeFileSync(input, lines.join('\n') + '\n');
  const r = spawnSync(process.execPath, [join(root, 'dist', 'main.js'), 'replay', '--input', input, '--sensor-column', 'sensor', '--output', output], { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`replay ${dt}s exit ${r.status}: ${r.stderr}`);
  // Parse the output: per sensor, per row (in order), status.
  const text = readFileSync(output, 'utf8').split('\n');
  const head = text[0].split(',');
  const iT = head.indexOf('timestamp');
  const iS = head.indexOf('sensor');
  const iSt = head.indexOf('status');
  const byS = new Map(sensors.map((s) => [s.name, []]));
  for (let k = 1; k < text.length; k++) {
    if (text[k] === '') continue;
    const c = text[k].split(',');
    byS.get(c[iS]).push([Number(c[iT]), c[iSt]]);
  }
  const res = {};
  for (const s of sensors) {
    const rows = byS.get(s.name);
    // Episodes: runs of 'anomalous'; learning end: first row not 'learning'.
    const eps = [];
    let open = null;
    let learnEnd = null;
    rows.forEach(([t, st], i) => {
      if (learnEnd === null && st !== 'learning') learnEnd = t;
      if (st === 'anomalous' && open === null) open = { from: t - ORIGIN, i };
      if (st !== 'anomalous' && open !== null) {
        eps.push({ ...open, to: t - ORIGIN, end: i });
        open = null;
      }
    });
    if (open !== null) eps.push({ ...open, to: Infinity, end: rows.length });
    const f = s.fault;
    const cleanUntil = f === undefined ? Infinity : f.at;
    const judgedDays = (Math.min(cleanUntil, DAYS * DAY) - (learnEnd - ORIGIN)) / DAY;
    const falseEps = eps.filter((e) => e.from < cleanUntil);
    const r1 = { learnEndMin: (learnEnd - ORIGIN) / 60, falseEpisodes: falseEps.length, judgedDays, falsePerDay: falseEps.length / judgedDays, falseOpenAt: falseEps.map((e) => `${(e.from / 3600).toFixed(2)}h-${e.to === Infinity ? 'end' : (e.to / 3600).toFixed(2) + 'h'}`) };
    if (f !== undefined) {
      const openWithin = eps.filter((e) => e.to > f.at && e.from <= f.at + Math.max(f.window, dt));
      const first = openWithin[0];
      r1.detected = first !== undefined;
      if (first !== undefined) r1.delay = fmtMin(Math.max(0, Math.round((first.from - f.at) / dt)), dt);
      const fEnd = Math.min(f.at + (f.kind === 'spike' ? dt : f.len), DAYS * DAY);
      const faultEps = eps.filter((e) => e.to > f.at && e.from < fEnd);
      let covered = 0;
      for (const e of faultEps) covered += Math.min(e.to, fEnd) - Math.max(e.from, f.at);
      r1.faultEpisodes = faultEps.length;
      r1.coveredShare = Number((covered / Math.max(dt, fEnd - f.at)).toFixed(3));
      r1.faultEps = faultEps.map((e) => `${(e.from / 3600).toFixed(2)}h-${e.to === Infinity ? 'end' : (e.to / 3600).toFixed(2) + 'h'} (${e.to === Infinity ? rows.length - e.i : e.end - e.i} readings)`);
    }
    res[s.name] = r1;
  }
  results[`${dt}s`] = res;
  console.log(`\n== ${dt} s (${DAY / dt} readings per day), ${n} readings per sensor; replay: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  for (const [name, r1] of Object.entries(res)) {
    console.log(
      `${name.padEnd(10)} learn to ${r1.learnEndMin.toFixed(0)} min; false ${r1.falseEpisodes} in ${r1.judgedDays.toFixed(2)} d (${r1.falsePerDay.toFixed(2)}/d) ${r1.falseOpenAt.join(' ')}` +
        (r1.detected === undefined ? '' : `; detected ${r1.detected ? 'YES delay ' + r1.delay : 'no'}; fault eps ${r1.faultEpisodes}, covered ${(100 * r1.coveredShare).toFixed(1)} %: ${r1.faultEps.join(' ')}`),
    );
  }
}
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(results, null, 1));
