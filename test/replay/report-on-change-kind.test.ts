/**
 * A lasting level shift on a slow sensor that reports on change (0.5 °C) or after 50 minutes is told as a level shift
 * to its end, and its episode's told end is near the fault's end (tryout 28, finding 7: the field case
 * report-on-change.csv, +4 °C on day 25 from 10:00 to 16:00, found at once, was told `level_shift` while open and
 * resolved `noise_change`, `varies ± 0.5, usually ± 0.4`: the stretch told at the resolve holds the first readings
 * back, below the level before, and the noise of a sensor whose changes are its 0.5 steps was told a change of
 * 1.25x, which no operator would act on). Through `anomalyd replay --episodes`, with the shipped configuration and
 * GRU model; the case's README: flagged.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/cli/replay.js';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { QUIET, shippedReplayDir } from '../helpers/replay-episodes.js';

/** The field cases, beside the checkout as test/cases/field-cases.test.ts finds them (ANOMALYD_CASES: elsewhere, e.g. from a worktree). */
const CASE = join(process.env.ANOMALYD_CASES ?? resolve('../shared/cases'), 'report-on-change.csv');
/** The sensor's heartbeat: it reports at least every 50 minutes. */
const HEARTBEAT = 50 * 60_000;

const tmp = shippedReplayDir('roc-kind');

describe.skipIf(!builtAndModelsPresent() || !existsSync(CASE))('field case report-on-change.csv: its kind as told', () => {
  it('one episode for the +4 °C of day 25, 10:00 to 16:00, told a level shift to its end, which is within a few heartbeats of 16:00', async () => {
    const output = join(tmp.dir, 'out.csv');
    const episodesFile = join(tmp.dir, 'episodes.csv');
    expect(await replayCommand(['--input', CASE, '--output', output, '--episodes', episodesFile, '--config', tmp.config], QUIET)).toBe(0);
    const rows = parse<Record<string, string>>(await readFile(output, 'utf8'), { columns: true });
    // Day 25 counted from the first reading's day (day 0), as the case's README.
    const day0 = Math.floor(Number(rows[0].timestamp) / 86_400_000) * 86_400_000;
    const faultStart = day0 + 25 * 86_400_000 + 10 * 3_600_000;
    const faultEnd = faultStart + 6 * 3_600_000;
    const episodes = parse<Record<string, string>>(await readFile(episodesFile, 'utf8'), { columns: true });
    const mine = episodes.filter((e) => Date.parse(e.start) <= faultEnd && Date.parse(e.end) >= faultStart);
    expect(mine.map((e) => e.start)).toEqual([new Date(faultStart).toISOString()]);
    const ep = mine[0];
    expect({ kind: ep.kind, sentence: ep.sentence }).toEqual({ kind: 'level_shift', sentence: expect.stringMatching(/\(level shift\)$/) });
    expect(Date.parse(ep.end)).toBeLessThanOrEqual(faultEnd + 3 * HEARTBEAT);
    // Every kind its rows told while it was open is the kind it ends told with (no other was told, then dropped).
    const told = rows.filter((r) => Number(r.timestamp) >= faultStart && Number(r.timestamp) <= Date.parse(ep.end) && r.kind !== '');
    expect(told.length).toBeGreaterThan(0);
    expect([...new Set(told.map((r) => r.kind))]).toEqual(['level_shift']);
  }, 300_000);
});
