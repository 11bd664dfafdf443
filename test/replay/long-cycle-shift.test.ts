/**
 * A lasting level shift on a cycle longer than the finest cycle finder's 1,024 readings (a day read every 10 s, 30 s
 * or 60 s: 8,640, 2,880, 1,440 readings) stays alarmed until the new-normal rule, whatever the phase it starts at.
 * Through the detector the daemon runs (runReplay, as `anomalyd replay` without --learn-first), with the shipped
 * configuration and the shipped model.
 *
 * The signal: 60 + 5 sin(2π k / 4000) + N(0, 0.3), +3 (ten noise widths, below the cycle's amplitude) from its onset
 * for good. Before the coarser levels of the cycle finder (src/pipeline/cycle.ts) no period was found, and the shift
 * was seen as a step only: `change` opened the episode and it resolved "recovered" `alerts.closeAfter` readings
 * later (scripts/longcycle.mjs, BENCHMARKS.md). The period is found on block means of 16 readings, from two periods
 * held (about reading 8,200); the onsets sweep a period from reading 9,000 at different phases, each its own stream
 * (one column of one replay); one stream has no fault and must raise nothing. Counted in readings: run at 10 s.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cyclicShiftFailures, type CyclicShift } from '../helpers/cyclic-shift.js';
import { removeDirs } from '../helpers/replay-shipped.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';

/** Onsets: 9,000, 9,900, …: five of them, over one period at different phases. */
const SHIFT: CyclicShift = { sensor: 'room', period: 4000, shift: 3, first: 9000, step: 900, onsets: 5 };

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a lasting level shift on a cycle of 4,000 readings (shipped configuration and model)', () => {
  it('+3 on 60 + 5 sin(2π k / 4000) + N(0, 0.3), 10 s apart: alarmed at its onset at every phase and open until the new normal, never "recovered" while it lasts; the stream without it raises nothing', async () => {
    const r = await cyclicShiftFailures(SHIFT, shippedConfig(), 1, 10_000, dirs);
    expect(r.outputs).toBe(r.rows);
    expect(r.failures).toEqual([]);
    expect(r.clean).toEqual([]);
  }, 300_000);
});
