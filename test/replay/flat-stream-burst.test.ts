/**
 * A noise burst on a flat, quantised stream is told a noise change, at the retelling if not at the open, at 1 s, 10 s
 * and 60 s spacing; a spike and a level shift on the same stream keep their kinds (tryout 30, finding 4: an ESPHome
 * temperature at 1 Hz, 20.5 ± 0.05 °C sent with one decimal, most of its readings unchanged; for 30 to 120 readings
 * values from 17.0 to 23.4 were told `21.0, expected 20.5 ± 0.1 (spike)` or `(level shift)` from open to resolve).
 * Most changes of such a stream are 0, so the robust noise of its changes is 0 and no noise change could be measured
 * against it (src/explain/explain.ts: noiseChange, against half the resolution when the stream shows no noise).
 * Generated data, through `anomalyd replay --episodes` with the shipped configuration and GRU model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { builtAndModelsPresent } from '../helpers/daemon.js';
import { replayEpisodes, shippedReplayDir, type ReplayedEpisode } from '../helpers/replay-episodes.js';
import { tryoutGauss } from '../helpers/tryout-random.js';

const SEC = 1000;
const start = Date.UTC(2026, 11, 3, 12, 13, 20);
/** Readings before the fault, and in all. */
const BEFORE = 600;
const ROWS = 900;
const LEVEL = 20.5;

const tmp = shippedReplayDir('flat-burst');

/**
 * ROWS readings `spacingMs` apart of 20.5 ± 0.04 sent with one decimal (most of them 20.5), reading i given
 * `fault(i, gauss)`'s offset from the level (sensor units) on top.
 */
function flatRows(seed: number, spacingMs: number, fault: (i: number, gauss: () => number) => number): [number, number][] {
  const gauss = tryoutGauss(seed);
  const rows: [number, number][] = [];
  for (let i = 0; i < ROWS; i++) {
    const v = LEVEL + 0.04 * gauss() + fault(i, gauss);
    rows.push([start + i * spacingMs, Math.round(v * 10) / 10]);
  }
  return rows;
}

/** The episodes of a replay of `rows` that overlap readings [from, to], and the kind told at each reading (the output CSV). */
async function replayed(name: string, rows: readonly [number, number][], from: number, to: number): Promise<{ episodes: ReplayedEpisode[]; kinds: string[] }> {
  const all = await replayEpisodes(tmp.dir, tmp.config, name, rows);
  const out = parse<Record<string, string>>(await readFile(join(tmp.dir, `${name}-out.csv`), 'utf8'), { columns: true });
  return { episodes: all.filter((e) => e.end >= rows[from][0] && e.start <= rows[to][0]), kinds: out.map((r) => r.kind ?? '') };
}

describe.skipIf(!builtAndModelsPresent())('flat quantised stream: a noise burst, a spike and a level shift as told', () => {
  for (const spacingMs of [1 * SEC, 10 * SEC, 60 * SEC]) {
    for (const length of [30, 60, 120]) {
      it(`${spacingMs / SEC} s apart: a burst of ${length} readings of ± 1.5 about the level is told a noise change`, async () => {
        const rows = flatRows(5, spacingMs, (i, gauss) => (i >= BEFORE && i < BEFORE + length ? 1.5 * gauss() : 0));
        // The stream shows no noise of its own: most of its changes are 0.
        const changes = rows.slice(1, BEFORE).map(([, v], i) => v - rows[i][1]);
        expect(changes.filter((c) => c === 0).length).toBeGreaterThan(BEFORE / 2);
        const { episodes, kinds } = await replayed(`burst-${spacingMs}-${length}`, rows, BEFORE, BEFORE + length - 1);
        expect(episodes.length).toBeGreaterThan(0);
        expect(episodes.map((e) => e.kind)).toEqual(episodes.map(() => 'noise_change'));
        // Retold so while it lasts: the kind told at the burst's last reading.
        expect(kinds[BEFORE + length - 1]).toBe('noise_change');
      }, 120_000);
    }

    it(`${spacingMs / SEC} s apart: one reading 3 °C off is told a spike`, async () => {
      const rows = flatRows(5, spacingMs, (i) => (i === BEFORE ? 3 : 0));
      const { episodes } = await replayed(`spike-${spacingMs}`, rows, BEFORE, BEFORE + 30);
      expect(episodes.map((e) => ({ start: e.start, kind: e.kind }))).toEqual([{ start: rows[BEFORE][0], kind: 'spike' }]);
    }, 120_000);

    it(`${spacingMs / SEC} s apart: a lasting step of +1.5 °C is told a level shift`, async () => {
      const rows = flatRows(5, spacingMs, (i) => (i >= BEFORE ? 1.5 : 0));
      const { episodes } = await replayed(`shift-${spacingMs}`, rows, BEFORE, ROWS - 1);
      expect(episodes.length).toBeGreaterThan(0);
      expect(episodes[0]).toMatchObject({ start: rows[BEFORE][0], kind: 'level_shift' });
    }, 120_000);
  }
});
