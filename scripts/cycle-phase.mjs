#!/usr/bin/env node
// Where a cycle profile's phase stands against the true phase of a generated sine (scripts/periodic-channels.mjs):
// one channel of its CSV fed through the stream's cadence (src/pipeline/cadence.ts: filled steps from the time stamps)
// and a CycleProfile (src/pipeline/cycle.ts) as the scorer feeds them (teach, then advance with the filled steps; the
// period estimated at the end of the learning period, LEARN readings), no episodes. Every EVERY readings: the period,
// and the profile's phase error in readings (the expected values of the last EVERY readings fitted to
// a·sin(k / div + i) + b·cos(k / div + i) + c: error = atan2(b, a) · div; positive: the profile runs ahead) and the
// RMS of expected minus the noise-free value (the true sine plus the noise's mean 0.5), in the sine's units. Readings
// bunched after a fill (a cadence with Placement.bunched) give a filled step back, as in the scorer; the phase error
// is fitted on the other readings (a bunched reading's place is not known). "filled steps so far": net of those.
// Uses the built JS of ROOT (dist/).
//
//   node scripts/cycle-phase.mjs ROOT CSV CHANNEL [--div D] [--amp A] [--every N] [--learn N]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, csv, chArg, ...rest] = process.argv.slice(2);
if (chArg === undefined) {
  console.error('usage: node scripts/cycle-phase.mjs ROOT CSV CHANNEL [--div D] [--amp A] [--every N] [--learn N]');
  process.exit(2);
}
const opt = (name, dflt) => {
  const i = rest.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(rest[i + 1]);
};
const div = opt('div', 20);
const amp = opt('amp', 5);
const every = opt('every', 500);
const learn = opt('learn', 256);
const ch = Number(chArg);
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { CycleProfile } = await import(at('dist/pipeline/cycle.js'));
const { Cadence } = await import(at('dist/pipeline/cadence.js'));
const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
const base = rows[0][ch + 1] - amp * Math.sin(1 / div + ch) - 0.5;
const cad = new Cadence({ intervalMs: 0, resetAfter: 64 });
const cy = new CycleProfile();
let win = [];
let extra = 0;
let cnt = 0;
let v2 = 0;
for (let k = 0; k < rows.length; k++) {
  const ts = rows[k][0];
  const x = rows[k][ch + 1];
  const p = cad.place(ts);
  if (p.reset && k > 0) cy.clear();
  extra += p.filled;
  // A reading bunched after a fill (Placement.bunched, where the cadence has it) gives a filled step back to the
  // cycle, and is judged at the latest held reading's place, untaught (as the scorer's learnCycles).
  const bunched = p.bunched ?? 0;
  if (bunched > 0) extra--;
  const e = bunched > 0 ? cy.expectedBunched() : cy.expected();
  if (Number.isFinite(e) && bunched === 0) win.push([k + 1, e]);
  // As the scorer (learnCycles): residuals winsorised at 3 long-term RMS, the held value the winsorised one.
  const clip = cnt >= 16 && v2 > 0 ? 3 * Math.sqrt(v2) : Infinity;
  const ec = Number.isFinite(e) ? Math.max(-clip, Math.min(clip, x - e)) : Number.NaN;
  if (Number.isFinite(ec)) {
    cnt++;
    v2 += (ec * ec - v2) / Math.min(20000, cnt);
  }
  if (bunched === 0) cy.teach(x, clip);
  cy.advance(Number.isFinite(ec) ? e + ec : x, p.filled, false, bunched);
  if (k + 1 === learn) cy.warmStart();
  if ((k + 1) % every === 0) {
    let line = `row ${k + 1}: period ${cy.period.toFixed(2)}, filled steps so far ${extra}`;
    if (win.length > 10) {
      // Least squares of e on [sin, cos, 1] (normal equations, 3 x 3).
      const X = win.map(([t]) => [Math.sin(t / div + ch), Math.cos(t / div + ch), 1]);
      const A = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
      const b = [0, 0, 0];
      win.forEach(([, y], i) => {
        for (let r = 0; r < 3; r++) {
          b[r] += X[i][r] * y;
          for (let c = 0; c < 3; c++) A[r][c] += X[i][r] * X[i][c];
        }
      });
      const det3 = (M) => M[0][0] * (M[1][1] * M[2][2] - M[1][2] * M[2][1]) - M[0][1] * (M[1][0] * M[2][2] - M[1][2] * M[2][0]) + M[0][2] * (M[1][0] * M[2][1] - M[1][1] * M[2][0]);
      const D = det3(A);
      const sol = [0, 1, 2].map((j) => det3(A.map((r, i) => r.map((v, c) => (c === j ? b[i] : v)))) / D);
      const err = Math.atan2(sol[1], sol[0]) * div;
      let ss = 0;
      for (const [t, y] of win) ss += (y - (base + amp * Math.sin(t / div + ch) + 0.5)) ** 2;
      line += `, phase error ${err.toFixed(2)} readings, expected - truth RMS ${Math.sqrt(ss / win.length).toFixed(2)}`;
    }
    console.log(line);
    win = [];
  }
}
