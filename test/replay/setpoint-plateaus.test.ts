/**
 * A set-point signal (a process set-point, a pump's speed steps) that switches among plateaus, each held cleanly with
 * the stream's usual noise (issue 10, "the new normal by evidence, not a timer"; the dev corpus' plateaus file held
 * each switch to a level its learning period had not shown for 394 to 999 readings, `bias` holding it). Once the
 * stream has shown a switch (an episode that held a plateau away from the level it left for four short spans and
 * came back to that level: StreamScore.setpoints), a plateau held as long is its new normal (plateauNormal,
 * src/pipeline/scorer.ts). A stream that has shown no switch holds a lasting level shift as before: SKAB's valve
 * faults are such shifts, labelled anomalies.
 *
 * At 60 s, the shipped configuration and model, through the detector the daemon runs (runReplay). Noise: AR(1),
 * coefficient 0.5, standard deviation 0.5 (the dev corpus' plateaus: 0.3 to 0.8).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { modelSidecarPath } from '../../src/daemon.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';
import type { ToldEpisode } from '../../src/replay/tell.js';
import { mulberry32 } from '../../src/train/rng.js';
import { MODELS, ROOT } from '../helpers/daemon.js';
import { removeDirs } from '../helpers/replay-shipped.js';

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const INTERVAL_MS = 60_000;
const T0 = Date.UTC(2026, 10, 30);

function shipped(): Config {
  const loaded = loadConfig({ path: join(ROOT, 'config', 'default.yaml'), env: {}, overrides: { model: { dir: MODELS } } });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

/**
 * Rows of plateaus `[level, readings]` one after another, 60 s apart, with AR(1) noise (coefficient 0.5, standard
 * deviation 0.5) from `seed`; also each plateau's first row index.
 */
function plateaus(segments: readonly [number, number][], seed: number): { rows: ReplayRow[]; starts: number[] } {
  const u = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const innovation = 0.5 * Math.sqrt(1 - 0.25);
  const rows: ReplayRow[] = [];
  const starts: number[] = [];
  let e = 0;
  for (const [level, n] of segments) {
    starts.push(rows.length);
    for (let k = 0; k < n; k++) {
      e = 0.5 * e + innovation * gauss();
      rows.push({ sensor: 'process', ts: T0 + rows.length * INTERVAL_MS, channels: ['setpoint'], values: [level + e] });
    }
  }
  return { rows, starts };
}

/** Every told episode of `rows` (shipped configuration and model), and the stream's readings in an open episode. */
async function episodesOf(rows: readonly ReplayRow[]): Promise<{ episodes: readonly ToldEpisode[]; alarmed: boolean[] }> {
  const config = shipped();
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-setpoint-'));
  dirs.push(dir);
  const alarmed: boolean[] = [];
  const res = await runReplay(rows, { config, learnRows: 0, loadModel, shippedModel: modelSidecarPath(config), dir, tell: true }, (o) => {
    alarmed.push(o.anomalousChannels.length > 0);
  });
  return { episodes: res.episodes, alarmed };
}

/** Readings alarmed in [from, to). */
function alarmedIn(alarmed: readonly boolean[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (alarmed[i]) n++;
  return n;
}

function summarise(episodes: readonly ToldEpisode[]): string {
  return episodes.map((e) => `${(e.startTs - T0) / INTERVAL_MS} +${e.readings} ${e.kind ?? '(no kind)'} ${e.resolution ?? 'open'}`).join('\n');
}

const present = existsSync(join(MODELS, 'gru.json'));

describe.skipIf(!present)('a set-point switching among clean plateaus (60 s, shipped configuration and model)', () => {
  it('after the stream has shown a switch (40 -> 56 -> 40), each later plateau is its new normal long before newNormalAfter', async () => {
    const config = shipped();
    const newNormalAfter = config.alerts.newNormalAfter;
    // 40 for the learning period and after it, 56 (new: told and held), back to 40 (the switch shown), then 56 and 76.
    const { rows, starts } = plateaus([[40, 800], [56, 500], [40, 300], [56, 500], [76, 500], [40, 400]], 7);
    const { episodes, alarmed } = await episodesOf(rows);
    const summary = summarise(episodes);
    // The first switch to 56, a level the stream had never shown, is told and held (as before).
    expect(alarmedIn(alarmed, starts[1], starts[1] + 100), summary).toBeGreaterThan(90);
    // From the second visit to 56 on, no plateau is held a quarter of newNormalAfter (main: 394 to 999 readings).
    for (const k of [3, 4, 5]) expect(alarmedIn(alarmed, starts[k], k + 1 < starts.length ? starts[k + 1] : rows.length), `${k}\n${summary}`).toBeLessThan(newNormalAfter / 4);
    // And one of them ended as the new normal, not as a recovery.
    expect(episodes.some((e) => e.startTs >= rows[starts[3]].ts && e.resolution === 'new_normal'), summary).toBe(true);
  }, 180_000);

  it('a stream that has shown no switch holds a lasting level shift as before (a fault, not a set-point)', async () => {
    // 40, then 56 for 700 readings: the shift is held for all but its closing readings.
    const { rows, starts } = plateaus([[40, 800], [56, 700]], 8);
    const { episodes, alarmed } = await episodesOf(rows);
    const summary = summarise(episodes);
    expect(alarmedIn(alarmed, starts[1], rows.length), summary).toBeGreaterThan(650);
  }, 180_000);
});
