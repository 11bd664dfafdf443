/**
 * The learning period a new stream really has (tryout 25, finding 10: with `score.learnReadings: 32` a stream was
 * `learning` until reading 159, where the README promised 32): `check-config` and `run` say so when learnReadings
 * is below the kinds' warm-up, and the figure they give is the first reading the real detector judges (model-free,
 * a stream without gaps) with learnReadings one below it, at several `model.normWarmup` and `score.smooth`.
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { checkConfigCommand } from '../../src/cli/check-config.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import type { RawMessage } from '../../src/contract/types.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { Detector, detectorOptions } from '../../src/pipeline/detector.js';
import { kindsWarmUp, learnReadingsWarnings } from '../../src/pipeline/learning-period.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { normal } from '../pipeline/detector-helpers.js';
import { yamlFile } from './helpers.js';

/** The shipped config with these settings. */
function configWith(learnReadings: number, normWarmup: number, smooth: number): Config {
  const base = defaultConfig();
  return { ...base, model: { ...base.model, normWarmup }, score: { ...base.score, learnReadings, smooth } };
}

/** The index of the first reading of 20 + 0.5 N(0, 1), one a second, that the detector does not report `learning`. */
async function firstJudged(cfg: Config, readings: number): Promise<number> {
  let ids = 0;
  const d = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
  const status: string[] = [];
  const input = new Subject<RawMessage>();
  const done = new Promise<void>((resolve, reject) =>
    input.pipe(d.operator()).subscribe({ next: (o) => (o.type === 'reading' ? void status.push(o.reading.status) : undefined), error: reject, complete: resolve }),
  );
  const g = normal(1);
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < readings; i++) {
    const ts = t0 + i * 1000;
    input.next({ topic: 'sensors/s', payload: Buffer.from(`{"ts":${ts},"value":${(20 + 0.5 * g()).toFixed(4)}}`), receivedAt: ts + 5 });
  }
  input.complete();
  await done;
  return status.findIndex((s) => s !== 'learning');
}

describe('score.learnReadings below the kinds\' warm-up is said, with the learning period a stream really has (tryout 25, finding 10)', () => {
  for (const [normWarmup, smooth] of [[32, 16], [32, 8], [64, 16], [16, 32], [100, 10]] as const) {
    it(`model.normWarmup ${normWarmup}, score.smooth ${smooth}: one below the warm-up learns for the warm-up, and is warned of; the warm-up itself is not`, async () => {
      const warm = kindsWarmUp(normWarmup, smooth);
      expect(await firstJudged(configWith(warm - 1, normWarmup, smooth), warm + 40)).toBe(warm);
      expect(await firstJudged(configWith(warm, normWarmup, smooth), warm + 40)).toBe(warm);
      const [warning] = learnReadingsWarnings(configWith(warm - 1, normWarmup, smooth));
      expect(warning[0]).toBe('score.learnReadings');
      expect(warning[1]).toContain(`learns, and alerts on nothing, for ${warm} readings, not ${warm - 1}`);
      expect(learnReadingsWarnings(configWith(warm, normWarmup, smooth))).toEqual([]);
    }, 120_000);
  }

  it('learnReadings 8, 17, 25 and 31 (which ended learning at the setting, before level had started) learn for the warm-up too, and are warned of so', async () => {
    for (const n of [8, 17, 25, 31]) {
      expect(await firstJudged(configWith(n, 32, 16), 200)).toBe(159);
      expect(learnReadingsWarnings(configWith(n, 32, 16))[0][1]).toContain(`learns, and alerts on nothing, for 159 readings, not ${n}`);
    }
  }, 120_000);

  it('check-config warns of learnReadings 32 with the shipped settings (159 readings), and not of the shipped 256', async () => {
    const run = (path: string): { code: number; err: string } => {
      let err = '';
      const code = checkConfigCommand(['--config', path], { stdout: () => {}, stderr: (s) => (err += s), env: {} });
      return { code, err };
    };
    const low = run(yamlFile('score:\n  learnReadings: 32\n'));
    expect(low.code).toBe(0);
    expect(low.err).toMatch(/^warning: score\.learnReadings: 32 is below the warm-up .* for 159 readings, not 32 /);
    expect(await firstJudged(configWith(32, 32, 16), 200)).toBe(159);
    expect(run(yamlFile('score:\n  learnReadings: 256\n')).err).toBe('');
  }, 120_000);
});
