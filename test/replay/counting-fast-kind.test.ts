/**
 * A counter counting far faster than it ever had is told with a kind of its own, `counting_fast`, stored with its
 * episode (tryout 38, finding 5 and the operatorview brief's point 2: an hourly meter's +5,000 kWh at one reading was
 * told `… counting 5000.0 kWh/h since 12:03, at most 1.2 kWh/h before (counting fast)` while its record's kind stayed
 * null: KIND `-` in `anomalyd anomalies list`, "kind not told yet" on the dashboard beside a banner saying counting
 * fast). Through `anomalyd replay --episodes`, whose kind is the record's (src/replay/tell.ts), with the shipped
 * configuration and model; the stream is recognised as a counter from its readings (src/pipeline/counter.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KIND_LABELS } from '../../src/explain/explain.js';
import { MODELS } from '../helpers/daemon.js';
import { lcg } from '../helpers/lcg.js';
import { replayEpisodes, shippedReplayDir } from '../helpers/replay-episodes.js';

const present = existsSync(join(MODELS, 'gru.json'));
const tmp = shippedReplayDir('counting-fast');

/** Readings before the jump (past the counter's recognition and its rate's readings), and after it. */
const BEFORE = 1400;
const AFTER = 40;

/** An hourly meter's total (kWh, 2 decimals) counting 0.2-0.6 per reading, +`jump` from reading BEFORE on. */
function meter(seed: number, jump: number): [number, number][] {
  const u = lcg(seed);
  const t0 = Date.UTC(2026, 9, 1);
  let total = 12_345;
  const out: [number, number][] = [];
  for (let k = 0; k < BEFORE + AFTER; k++) {
    total += 0.2 + 0.4 * u();
    out.push([t0 + k * 3_600_000, Math.round((total + (k >= BEFORE ? jump : 0)) * 100) / 100]);
  }
  return out;
}

describe.skipIf(!present)('a counter counting fast is told and stored with its kind', () => {
  it('an hourly meter’s +5,000 kWh at one reading: one episode, kind counting_fast, its sentence saying so', async () => {
    const episodes = await replayEpisodes(tmp.dir, tmp.config, 'meter', meter(7, 5000));
    expect(episodes).toHaveLength(1);
    const [e] = episodes;
    expect(e.start).toBe(Date.UTC(2026, 9, 1) + BEFORE * 3_600_000);
    expect(e.kind).toBe('counting_fast');
    expect(e.sentence).toMatch(/^meter\S* [\d.]+, counting [\d.]+\/h since .*, at most [\d.]+\/h before \(counting fast\)$/);
    expect(KIND_LABELS.counting_fast).toBe('counting fast');
  }, 300_000);
});
