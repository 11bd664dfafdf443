/**
 * Tryout 16 finding 6: clean periodic channels read at 5 Hz and stamped on arrival, at a receiver that stalls now and
 * then (a busy event loop, a broker delivering a backlog), raised "off the usual cycle" episodes. The readings sent
 * during a stall arrive bunched at its end: the cadence fills the steps of the stall, and then each bunched reading
 * was one more step, so a cycle's phase slipped by one a bunched reading (branch `cycle16`, scripts/cycle-phase.mjs).
 * The bunched readings now give the filled steps back to the cycle's phase (src/pipeline/cadence.ts, Placement.bunched;
 * CycleProfile.advance), and stay steps in order for the model and every other kind.
 *
 * The publisher of scripts/periodic-channels.mjs (the same seeded generator): 16 channels ch<i> = 100 i + 5 sin(k / 20
 * + i) + U(0, 1), written to 0.1, k the reading's count, one reading every 200 ms with ±4 ms of timer jitter; a stall
 * begins at a reading with probability 1 / 50 and lasts up to 800 ms, every reading sent in it stamped at its end, a
 * millisecond apart; no reading is lost. Through the detector the daemon runs (runReplay, as `anomalyd replay`), with
 * the shipped configuration and the shipped model; each column is its own stream. Seed 2, 20 minutes: on main, one
 * channel (ch13) opened 10 `cycle` episodes in its first 1,000 readings; none without the stalls.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplayRow } from '../../src/replay/drive.js';
import { mulberry32 } from '../../src/train/rng.js';
import { MODELS, shippedConfig } from '../helpers/daemon.js';
import { alarmedRows, removeDirs, replayShipped } from '../helpers/replay-shipped.js';

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const CHANNELS = 16;

/** scripts/periodic-channels.mjs OUT --hours H --seed S --stall-every STALL_EVERY (5 Hz, div 20, amplitude 5, jitter 4 ms, stalls up to 800 ms): its rows. */
function periodicChannels(hours: number, seed: number, stallEvery: number): ReplayRow[] {
  const hz = 5;
  const rnd = mulberry32(seed);
  const n = Math.round(hours * 3600 * hz);
  const t0 = Date.UTC(2026, 11, 1, 0, 0, 0);
  const channels = Array.from({ length: CHANNELS }, (_, i) => `ch${i}`);
  const rows: ReplayRow[] = [];
  let stallEnd = -Infinity;
  let lastTs = -Infinity;
  for (let k = 1; k <= n; k++) {
    const sent = t0 + (k * 1000) / hz + (rnd() * 2 - 1) * 4;
    if (stallEvery > 0 && sent > stallEnd && rnd() < 1 / (stallEvery * hz)) stallEnd = sent + rnd() * 800;
    let ts = Math.round(sent <= stallEnd ? stallEnd : sent);
    if (ts <= lastTs) ts = lastTs + 1;
    lastTs = ts;
    const values: number[] = [];
    for (let i = 0; i < CHANNELS; i++) values.push(Number((100 * i + 5 * Math.sin(k / 20 + i) + rnd()).toFixed(1)));
    rows.push({ sensor: 'esp-power', ts, channels, values });
  }
  return rows;
}

/** Episodes per channel: runs of rows in which the channel's stream is in an open episode. */
function episodes(alarmed: readonly number[]): number {
  return alarmed.filter((r, j) => j === 0 || alarmed[j - 1] !== r - 1).length;
}

describe.skipIf(!existsSync(join(MODELS, 'gru.json')))('clean periodic channels stamped on arrival at a receiver that stalls (tryout 16 finding 6)', () => {
  const config = shippedConfig();

  it('open no episode: the readings bunched after a stall do not slip the cycle’s phase (seed 2, 20 minutes, 16 channels)', async () => {
    const rows = periodicChannels(1 / 3, 2, 10);
    // The stalls are there: readings a few ms apart after a gap of several intervals.
    expect(rows.filter((r, i) => i > 0 && r.ts - rows[i - 1].ts <= 2).length).toBeGreaterThan(100);
    const out = await replayShipped(config, rows, dirs);
    expect(out.length).toBe(rows.length);
    expect(alarmedRows(out, CHANNELS).map(episodes)).toEqual(new Array<number>(CHANNELS).fill(0));
  }, 120_000);

  it('the same channels stamped when sent open none either', async () => {
    const out = await replayShipped(config, periodicChannels(1 / 3, 2, 0), dirs);
    expect(alarmedRows(out, CHANNELS).map(episodes)).toEqual(new Array<number>(CHANNELS).fill(0));
  }, 120_000);
});
