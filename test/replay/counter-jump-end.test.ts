/**
 * A cumulative counter's one jump forward (a meter's total +5,000 kWh at one reading, then counting on as before: a
 * misread, a gateway's bad frame, a meter swapped for one with a higher total) is told once, by its rate ("counting
 * fast"), and its episode ends within the documented bound after the rate is back (docs/SCORING.md section 5,
 * "Close": at most 2 · `score.smooth` − 1 + `alerts.closeAfter` readings), at any sampling rate. Tryout 38, finding 5:
 * an hourly meter's jump held its episode open to the end of the replay (40 readings and counting): the step that
 * was not undone (CycleProfile.unreturned) held it, though a counter's total never comes back and its level is not
 * judged (src/pipeline/scorer.ts judgeCounter). Through the detector the daemon runs, the shipped configuration and
 * model; the stream is recognised as a counter from its readings (src/pipeline/counter.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shortSpan } from '../../src/pipeline/scorer.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { removeDirs, replayShipped } from '../helpers/replay-shipped.js';

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));
const present = existsSync(join(MODELS, 'gru.json'));

/** Readings before the jump (past the counter's recognition and its rate's readings), and after it. */
const BEFORE = 1400;
const AFTER = 120;

/** A meter's total (kWh, 2 decimals) counting 0.2-0.6 per reading, `intervalMs` apart, `jump` added from reading BEFORE on. */
function meter(seed: number, intervalMs: number, jump: number): ReplayRow[] {
  const u = lcg(seed);
  const t0 = Date.UTC(2026, 9, 1);
  let total = 12_345;
  const out: ReplayRow[] = [];
  for (let k = 0; k < BEFORE + AFTER; k++) {
    total += 0.2 + 0.4 * u();
    out.push({ sensor: 'meter', ts: t0 + k * intervalMs, channels: ['total'], values: [Math.round((total + (k >= BEFORE ? jump : 0)) * 100) / 100] });
  }
  return out;
}

describe.skipIf(!present)("a counter's one jump forward is one episode that ends once its rate is back (tryout 38, finding 5)", () => {
  for (const [label, intervalMs] of [['hourly', 3_600_000], ['every 10 s', 10_000]] as const) {
    it(`${label}: +5,000 at one reading opens at it and resolves within 2·smooth − 1 + closeAfter readings`, async () => {
      const config = shippedConfig();
      const bound = shortSpan(config.score.smooth) + config.alerts.closeAfter;
      const out = await replayShipped(config, meter(7, intervalMs, 5000), dirs);
      const open = out.filter((o) => o.anomaly).map((o) => o.index);
      expect(open[0], 'the jump opens the episode').toBe(BEFORE);
      // One run of open readings from the jump; the first reading after it counts at the usual rate again.
      let last = BEFORE;
      while (open.includes(last + 1)) last++;
      expect(last - BEFORE, `open until reading ${last}`).toBeLessThanOrEqual(bound);
      expect(open.filter((k) => k > last), 'a second episode').toEqual([]);
    }, 300_000);
  }

  it('without the jump the same meter raises nothing', async () => {
    const out = await replayShipped(shippedConfig(), meter(7, 3_600_000, 0), dirs);
    expect(out.filter((o) => o.anomaly).map((o) => o.index)).toEqual([]);
  }, 300_000);
});
