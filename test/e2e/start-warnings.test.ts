/**
 * What `anomalyd run` warns of at start about its config, as `check-config` does (test/config/check-config.test.ts):
 * a learning.minReadings with which no sensor's first own model can pass the gate (tryout 16, finding 8).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonProcess, builtAndModelsPresent } from '../helpers/daemon.js';

const ready = builtAndModelsPresent();
const daemons: DaemonProcess[] = [];
afterAll(async () => {
  for (const d of daemons) await d.stop('SIGKILL');
});

describe.skipIf(!ready)('warnings at start (real daemon)', () => {
  it('warns once of a learning.minReadings too small for the gate, with the number it needs, and starts', async () => {
    const small = new DaemonProcess({ broker: { port: 0 }, learning: { minReadings: 256 } });
    daemons.push(small);
    await small.start();
    const warned = small.lines.filter((l) => l.setting === 'learning.minReadings');
    expect(warned).toHaveLength(1);
    expect(warned[0].level).toBe(40);
    expect(warned[0].msg).toMatch(/^learning\.minReadings: 256 is below 400, .*Set it to 400 or more$/);

    const enough = new DaemonProcess({ broker: { port: 0 }, learning: { minReadings: 400 } });
    daemons.push(enough);
    await enough.start();
    expect(enough.lines.filter((l) => l.setting === 'learning.minReadings')).toEqual([]);
  });
});
