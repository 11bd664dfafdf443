/**
 * The memory bench runs the daemon with the shipped unit's V8 flags (src/bench/process-bench.ts unitNodeOptions).
 *
 * Finding (mem1000): `node dist/bench/index.js --only memory` ran the daemon with node's defaults unless whoever ran
 * it set NODE_OPTIONS by hand (BENCHMARKS.md's figures since `mem2` were taken so, the bench's own report ~320 MB
 * against ~250 MB with the unit's `--max-old-space-size=192`): the figure the goal is judged by was not the deployed
 * daemon's. What could fail: the flags read are not the unit's last NODE_OPTIONS line (quoted or not), or a unit
 * without one gives flags instead of an error.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unitNodeOptions } from '../../src/bench/process-bench.js';

const dir = mkdtempSync(join(tmpdir(), 'anomalyd-unitopts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const unit = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('unitNodeOptions', () => {
  it('reads the shipped unit’s NODE_OPTIONS', () => {
    const shipped = readFileSync(new URL('../../systemd/anomalyd.service', import.meta.url), 'utf8');
    const line = /^Environment="NODE_OPTIONS=([^"\n]+)"$/m.exec(shipped);
    expect(line).not.toBeNull();
    expect(unitNodeOptions()).toBe(line![1]);
    expect(unitNodeOptions()).toMatch(/--max-old-space-size=\d+/);
  });

  it('takes the last line that sets it, quoted or not', () => {
    const file = unit('two.service', '[Service]\nEnvironment=NODE_OPTIONS=--max-old-space-size=512\nEnvironment="NODE_OPTIONS=--max-old-space-size=96 --max-semi-space-size=2"\nEnvironment=OTHER=1\n');
    expect(unitNodeOptions(file)).toBe('--max-old-space-size=96 --max-semi-space-size=2');
    expect(unitNodeOptions(unit('bare.service', '[Service]\nEnvironment=NODE_OPTIONS=--max-old-space-size=64\n'))).toBe('--max-old-space-size=64');
  });

  it('throws for a unit that sets none', () => {
    expect(() => unitNodeOptions(unit('none.service', '[Service]\nEnvironment=ORT_DISABLE_TELEMETRY=1\n'))).toThrow(/sets no NODE_OPTIONS/);
  });
});
