/**
 * A `score.learnReadings` shorter than the warm-up of the kinds a learning period waits for (level, change, shift and
 * spread; src/pipeline/learning-period.ts kindsWarmUp, 159 readings with the shipped settings) no longer ends a
 * stream's learning before those kinds' own statistics are ready. Before, 8 to 17 and 25 to 31 ended it at the
 * setting: `change` was settled ready on the 8 changes it held (a duty cycle that had not switched yet within them
 * alarmed at every later switch), and the `cycle` kind, its period not estimated from the learning period's readings,
 * started late on a history of 8 values (a clean sine alarmed from reading ~1,000 on). Now every setting below the
 * warm-up learns for the warm-up, as 32 to 158 already did (docs/SCORING.md section 6).
 *
 * Through the real detector core (parser, cadence, step engine, scorer; model-free, as replay of a stream without a
 * model), the shipped configuration with every learnReadings from 8 (the least the configuration takes) to 200: clean
 * signals of three shapes (a sine, flat noise, a noisy duty cycle) raise (almost) nothing, a +20σ level shift after
 * learning is alarmed within 20 readings, and the first judged reading is max(learnReadings, the warm-up).
 *
 * Not here: a random walk (0.1 N(0, 1) steps). `rarity` alarms where it wanders beyond the values it learnt, at
 * learnReadings 159 to 200 (which this change does not touch) as below, and with the shipped 256 on some seeds
 * (BENCHMARKS.md, "learnshort"): a fault of its own, not of a short learning period.
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import type { RawMessage } from '../../src/contract/types.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { kindsWarmUp } from '../../src/pipeline/learning-period.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { normal } from './detector-helpers.js';

/** Readings per stream; the fault's onset (well after any learning period scanned). */
const READINGS = 1400;
const ONSET = 900;

/** One value per reading i for each stream (each its own seeded noise): three clean shapes and a flat one with a lasting +20σ shift from ONSET. */
function streams(): Record<string, (i: number) => number> {
  const [a, b, d, e] = [1, 2, 4, 5].map((seed) => normal(seed));
  return {
    sine: (i) => 10 + 2 * Math.sin((2 * Math.PI * i) / 50) + 0.05 * a(),
    flat: () => 5 + 0.1 * b(),
    duty: (i) => (i % 40 < 15 ? 1 : 0) + 0.05 * d(),
    fault: (i) => 5 + 0.1 * e() + (i >= ONSET ? 2 : 0),
  };
}

/** Per stream, the status of each of its readings, with the shipped configuration but learnReadings. */
async function statuses(learnReadings: number): Promise<Record<string, string[]>> {
  const base = defaultConfig();
  const cfg: Config = { ...base, score: { ...base.score, learnReadings } };
  let ids = 0;
  const d = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
  const by: Record<string, string[]> = {};
  const input = new Subject<RawMessage>();
  const done = new Promise<void>((resolve, reject) =>
    input.pipe(d.operator()).subscribe({
      next: (o) => {
        if (o.type === 'reading') (by[o.reading.stream] ??= []).push(o.reading.status);
        else if (o.type === 'error') reject(new Error(o.detail));
      },
      error: reject,
      complete: resolve,
    }),
  );
  const shapes = streams();
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < READINGS; i++) {
    const ts = t0 + i * 1000;
    for (const [name, f] of Object.entries(shapes)) {
      input.next({ topic: `sensors/${name}`, payload: Buffer.from(`{"ts":${ts},"value":${f(i).toFixed(5)}}`), receivedAt: ts + 5 });
    }
  }
  input.complete();
  await done;
  return by;
}

describe('a short score.learnReadings lets no kind alarm before its statistics are ready', () => {
  const warm = kindsWarmUp(defaultConfig().model.normWarmup, defaultConfig().score.smooth);
  // In slices, so each test stays well within its timeout on a shared machine.
  for (const [from, to] of [[8, 40], [41, 90], [91, 140], [141, 200]] as const) {
    it(`learnReadings ${from} to ${to}: clean sine, flat noise and duty cycle raise nothing; a shift after learning is alarmed`, async () => {
      const bad: string[] = [];
      for (let n = from; n <= to; n++) {
        const by = await statuses(n);
        for (const name of ['sine', 'flat', 'duty']) {
          const anomalous = by[name].filter((s) => s === 'anomalous').length;
          // Under 1 % of the readings (a flood is most of them).
          if (anomalous > READINGS / 100) bad.push(`${n} ${name}: ${anomalous} anomalous`);
        }
        const fault = by.fault;
        const first = fault.findIndex((s) => s !== 'learning');
        if (first !== Math.max(n, warm)) bad.push(`${n}: first judged reading ${first}, not ${Math.max(n, warm)}`);
        if (fault.slice(0, ONSET).includes('anomalous')) bad.push(`${n} fault: alarmed before its onset`);
        if (!fault.slice(ONSET, ONSET + 20).includes('anomalous')) bad.push(`${n} fault: not alarmed within 20 readings of its onset`);
      }
      expect(bad).toEqual([]);
    }, 600_000);
  }
});
