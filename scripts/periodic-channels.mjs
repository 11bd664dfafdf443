#!/usr/bin/env node
// Tryout 16 finding 6's publisher as a CSV: 16 channels ch<i> = base·i + amp·sin(k / div + i) + U(0, 1), written
// with toFixed(1), at HZ readings a second with a timer's jitter (± JITTER ms), k the reading's count (as the
// publisher's t++). Deterministic (a seeded mulberry32).
// Usage: node scripts/periodic-channels.mjs OUT.csv [--hours H] [--hz HZ] [--div D] [--seed S] [--channels N]
//        [--base B] [--amp A] [--jitter MS] [--stall-every S] [--stall-ms MS]
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const out = args[0];
if (out === undefined || out.startsWith('--')) {
  console.error('usage: node scripts/periodic-channels.mjs OUT.csv [--hours H] [--hz HZ] [--div D] [--seed S] [--channels N] [--base B] [--amp A] [--jitter MS] [--stall-every S] [--stall-ms MS]');
  process.exit(2);
}
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(args[i + 1]);
};
const hours = opt('hours', 3);
const hz = opt('hz', 5);
const div = opt('div', 20);
const seed = opt('seed', 1);
const C = opt('channels', 16);
const base = opt('base', 100);
const amp = opt('amp', 5);
const jitter = opt('jitter', 4);
// Arrival stamps of a receiver that stalls now and then (a busy event loop): every reading published during a stall
// is stamped at its end, a millisecond apart, as a daemon stamping on arrival does. A stall begins with probability
// 1 / (STALL_EVERY · HZ) at each reading and lasts up to STALL_MS (uniform). 0: no stalls.
const stallEvery = opt('stall-every', 0);
const stallMs = opt('stall-ms', 800);

function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(seed);
const n = Math.round(hours * 3600 * hz);
const t0 = Date.UTC(2026, 11, 1, 0, 0, 0);
const lines = ['timestamp,' + Array.from({ length: C }, (_, i) => `ch${i}`).join(',')];
let stallEnd = -Infinity;
let lastTs = -Infinity;
for (let k = 1; k <= n; k++) {
  const sent = t0 + (k * 1000) / hz + (rnd() * 2 - 1) * jitter;
  if (stallEvery > 0 && sent > stallEnd && rnd() < 1 / (stallEvery * hz)) stallEnd = sent + rnd() * stallMs;
  let ts = Math.round(sent <= stallEnd ? stallEnd : sent);
  if (ts <= lastTs) ts = lastTs + 1;
  lastTs = ts;
  const row = [ts];
  for (let i = 0; i < C; i++) row.push((base * i + amp * Math.sin(k / div + i) + rnd()).toFixed(1));
  lines.push(row.join(','));
}
writeFileSync(out, lines.join('\n') + '\n');
console.error(`${out}: ${n} rows, ${C} channels, period ${(2 * Math.PI * div).toFixed(2)} readings`);
