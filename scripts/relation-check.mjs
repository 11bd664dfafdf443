#!/usr/bin/env node
/**
 * What `score.relations` would tell on recorded streams of one device (src/daemon/relations.ts over the built dist/),
 * with the shipped threshold and hold margin. Readings of all the files are merged in time order, as a live daemon
 * receives them. Prints one line per open and resolve, then a count.
 *
 *   node scripts/relation-check.mjs --device workshop STREAM=FILE.csv ...    (each FILE: `ts,value`, ts epoch ms)
 *   node scripts/relation-check.mjs --skab DIR                               (each SKAB file under DIR/{valve1,valve2,other,anomaly-free}
 *                                                                              a device of its 8 channels; opens inside labelled rows counted)
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Relations } from '../dist/daemon/relations.js';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};

/** Runs the book over rows [{stream, ts, value}] of `device` (time order); returns its events with their sentences. */
function run(device, streams, rows) {
  const told = [];
  let id = 0;
  const book = new Relations({
    streamsOf: (d) => (d === device ? streams : []),
    record: (ev, ex) => {
      told.push({ ev, sentence: ex?.sentence ?? '' });
      return true;
    },
    newId: () => `r${++id}`,
    threshold: 0.99999,
    holdMargin: 0.5,
    unitOf: () => null,
    timeZone: 'UTC',
    log: { debug() {}, warn: (o, m) => console.error(m, o) },
  });
  for (const r of rows) book.reading(r.stream, device, r.ts, r.value);
  return told;
}

const skab = opt('--skab');
if (skab !== undefined) {
  let files = 0;
  let opens = 0;
  let inLabels = 0;
  for (const group of ['valve1', 'valve2', 'other', 'anomaly-free']) {
    const dir = join(skab, group);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.csv')).sort((a, b) => parseInt(a, 10) - parseInt(b, 10))) {
      files++;
      const lines = readFileSync(join(dir, f), 'utf8').trim().split('\n');
      const streams = lines[0].split(';').slice(1, 9).map((c) => `skab/${c}`);
      const rows = [];
      const label = new Map();
      for (const l of lines.slice(1)) {
        const p = l.split(';');
        const ts = Date.parse(`${p[0].replace(' ', 'T')}Z`);
        label.set(ts, Number(p[9]) === 1);
        for (let i = 0; i < 8; i++) rows.push({ stream: streams[i], ts, value: Number(p[i + 1]) });
      }
      for (const t of run('skab', streams, rows)) {
        if (t.ev.kind !== 'open') continue;
        opens++;
        if (label.get(t.ev.startTs) === true) inLabels++;
        console.log(`${group}/${f} ${new Date(t.ev.endTs).toISOString()} open: ${t.sentence}`);
      }
    }
  }
  console.log(`SKAB: ${files} files, ${opens} relation episodes (${inLabels} starting in labelled rows)`);
} else {
  const device = opt('--device') ?? 'device';
  const streams = [];
  const rows = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq < 0) throw new Error(`expected STREAM=FILE.csv, got ${a}`);
    const stream = `${device}/${a.slice(0, eq)}`;
    streams.push(stream);
    for (const l of readFileSync(a.slice(eq + 1), 'utf8').trim().split('\n').slice(1)) {
      const [ts, v] = l.split(',');
      rows.push({ stream, ts: Number(ts), value: Number(v) });
    }
  }
  rows.sort((x, y) => x.ts - y.ts || x.stream.localeCompare(y.stream));
  const told = run(device, streams, rows);
  for (const t of told) console.log(`${new Date(t.ev.endTs).toISOString()} ${t.ev.kind} ${t.ev.sensor} since ${new Date(t.ev.startTs).toISOString()}: ${t.sentence}`);
  console.log(`${told.filter((t) => t.ev.kind === 'open').length} relation episodes`);
}
