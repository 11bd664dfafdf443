import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { describe, expect, it } from 'vitest';
import {
  evalConfig,
  evaluateMslChannel,
  evaluateSkabFile,
  formatTable,
  mslChannels,
  labelsOf,
  SKAB_LEARN_ROWS,
  skabFiles,
  summarise,
  type EvalSettings,
} from '../../src/eval/evaluate.js';
import { memoTrainer } from '../../src/eval/memo-trainer.js';
import { runsOf } from '../../src/eval/metrics.js';
import { parseReplayCsv } from '../../src/replay/source.js';

const DATA = resolve('../shared/datasets');
const haveData = existsSync(join(DATA, 'skab')) && existsSync(join(DATA, 'msl'));

const SETTINGS: EvalSettings = {
  config: { window: { length: 16, hop: 4, intervalMs: 1000 }, model: { normWarmup: 64 }, score: { priorWeight: 0 } },
  train: { hidden: 4, epochs: 2, seed: 1 },
};

describe('evalConfig', () => {
  it('applies overrides on the schema defaults and reports invalid ones', () => {
    const config = evalConfig({ window: { length: 16, hop: 4 } });
    expect(config.window.length).toBe(16);
    expect(config.window.hop).toBe(4);
    expect(() => evalConfig({ window: { length: 4, hop: 8 } })).toThrow(/window.hop/);
  });
});

describe('labelsOf', () => {
  it('reads the label column of a ; or , separated file with the same reader as the rows', () => {
    expect(labelsOf(parseReplayCsv('datetime;a;anomaly\n2020-03-09 10:14:33;1;0\n2020-03-09 10:14:34;2;1,0\n', { valueColumns: ['a'] }))).toEqual([0, 1]);
    expect(labelsOf(parseReplayCsv('index,value,anomaly\n0,1,1\n', { timestampColumn: null }))).toEqual([1]);
    expect(() => labelsOf(parseReplayCsv('a,b\n1,2\n', { timestampColumn: null }, 'x.csv'))).toThrow(/x\.csv: no column 'anomaly'/);
    expect(() => labelsOf(parseReplayCsv('value,anomaly\n1,yes\n', { timestampColumn: null }, 'x.csv'))).toThrow(/x\.csv:2: column 'anomaly': 'yes' is not a number/);
  });
});

describe.skipIf(!haveData)('evaluation on the labelled datasets', () => {
  const config = evalConfig(SETTINGS.config);

  it('scores a SKAB file after its first 400 rows, every scored row counted once', async () => {
    const [file] = skabFiles(DATA);
    const r = await evaluateSkabFile(file, config, SETTINGS, loadModel);
    // SKAB's last two columns are anomaly;changepoint (read here without the CSV reader, as a check of it).
    const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
    const labels = lines.map((l) => Number(l.split(';').at(-2))).slice(SKAB_LEARN_ROWS);
    expect(r.learnRows).toBe(SKAB_LEARN_ROWS);
    expect(r.scoredRows).toBe(r.rows - SKAB_LEARN_ROWS);
    const { tp, fp, fn, tn } = r.points;
    expect(tp + fp + fn + tn).toBe(r.scoredRows);
    expect(tp + fn).toBe(labels.filter((l) => l === 1).length);
    expect(r.events.events).toBe(runsOf(labels).length);
    expect(r.scoredMs).toBeGreaterThan(0);
  });

  it('with a memoising trainer, trains a file once for variants that share training options, with the same result', async () => {
    const [file] = skabFiles(DATA);
    const memo = memoTrainer();
    const fresh = await evaluateSkabFile(file, config, SETTINGS, loadModel);
    const first = await evaluateSkabFile(file, config, SETTINGS, loadModel, memo.train);
    const strict = evalConfig({ ...SETTINGS.config, score: { ...SETTINGS.config.score, threshold: 0.9999 } });
    const second = await evaluateSkabFile(file, strict, SETTINGS, loadModel, memo.train);
    expect(memo.trained()).toBe(1);
    expect(first.points).toEqual(fresh.points);
    expect(first.events).toEqual(fresh.events);
    // A stricter threshold on the same model can only remove alarm rows.
    expect(second.points.tp + second.points.fp).toBeLessThanOrEqual(first.points.tp + first.points.fp);
  });

  it('learns an MSL channel on its train file and scores its test file', async () => {
    const channel = mslChannels(DATA).find((c) => c === 'T-9') ?? mslChannels(DATA)[0];
    const r = await evaluateMslChannel(DATA, channel, config, SETTINGS, loadModel);
    const testRows = readFileSync(join(DATA, 'msl', `${channel}.test.csv`), 'utf8').trim().split('\n').length - 1;
    const trainRows = readFileSync(join(DATA, 'msl', `${channel}.train.csv`), 'utf8').trim().split('\n').length - 1;
    expect(r.learnRows).toBe(trainRows);
    expect(r.scoredRows).toBe(testRows);
    expect(r.scoredMs).toBe(testRows * 1000);
    const s = summarise('msl', [r, r]);
    expect(s.point.tp).toBe(2 * r.points.tp);
    expect(s.event.events).toBe(2 * r.events.events);
    expect(formatTable([s])).toMatch(/^\| dataset .*\n\|---.*\n\| msl \| 2 \|/);
  });
});
