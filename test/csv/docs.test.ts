/** The CSV reader's rules, the train/replay/evaluate help and docs/CSV.md say the same thing. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CSV_INPUT_HELP } from '../../src/cli/csv-flags.js';
import { REPLAY_USAGE } from '../../src/cli/replay.js';
import { TRAIN_USAGE } from '../../src/cli/train.js';
import { INDEX_COLUMNS, MISSING_VALUES, TIME_COLUMNS } from '../../src/csv/table.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(`${root}docs/CSV.md`, 'utf8');

describe('docs/CSV.md and --help', () => {
  it('docs/CSV.md names every time column, index column and missing-value token the reader knows', () => {
    for (const name of TIME_COLUMNS) expect(doc).toContain(`\`${name}\``);
    for (const name of INDEX_COLUMNS.filter((n) => n !== '')) expect(doc).toContain(`\`${name}\``);
    for (const token of MISSING_VALUES.filter((t) => t !== '')) expect(doc).toContain(`\`${token}\``);
    for (const flag of ['--timestamp-column', '--columns', '--timezone', '--interval-ms', '--sensor-column', '--recording-column', 'sep=;']) expect(doc).toContain(flag);
  });

  it('train and replay share the CSV flags and their help, which names the time columns and points to the doc', () => {
    expect(TRAIN_USAGE).toContain(CSV_INPUT_HELP);
    expect(REPLAY_USAGE).toContain(CSV_INPUT_HELP);
    expect(CSV_INPUT_HELP).toContain(TIME_COLUMNS.join(', '));
    for (const usage of [TRAIN_USAGE, REPLAY_USAGE]) expect(usage).toContain('docs/CSV.md');
  });

  it.skipIf(!existsSync(`${root}dist/eval/evaluate.js`))('npm run evaluate -- --help says its files go through the same reader', () => {
    const help = execFileSync(process.execPath, ['scripts/evaluate.mjs', '--help'], { cwd: root, encoding: 'utf8' });
    expect(help).toMatch(/same CSV reader as\s+'anomalyd train' and 'anomalyd replay' \(docs\/CSV\.md\)/);
    expect(help).toContain('--dataset');
  });
});
