/**
 * Smoke tests: the benchmark's runs work end to end on tiny sizes (real mosquitto, real daemon, real
 * onnxruntime). They check that every figure is there and consistent, never how fast anything is.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchBroker, mosquittoVersion } from '../../src/bench/broker.js';
import { runLatency, runThroughput, type E2eSetup } from '../../src/bench/e2e.js';
import { benchModels, type BenchModels } from '../../src/bench/models.js';
import { benchStages } from '../../src/bench/stages.js';
import { benchStartup } from '../../src/bench/process-bench.js';
import { machineInfo } from '../../src/bench/machine.js';

const built = existsSync(new URL('../../dist/bench/mqtt-child.js', import.meta.url)) && existsSync(new URL('../../dist/main.js', import.meta.url));
const canRun = mosquittoVersion() !== null && built;

describe.skipIf(!canRun)('benchmark suite on tiny sizes', () => {
  const broker = new BenchBroker();
  let models: BenchModels;
  let setup: E2eSetup;

  beforeAll(async () => {
    await broker.start();
    // The untrained models: the smoke test must not depend on what is in models/.
    models = await benchModels({ window: 16, hidden: 8, preferShipped: false });
    setup = { brokerUrl: broker.url, modelDir: models.dir, cell: 'gru', sensors: 3, window: 16, hop: 4, qos: 0, warmupPerSensor: 16 };
  });

  afterAll(async () => {
    await broker.stop();
  });

  it('records the machine and versions', () => {
    const m = machineInfo();
    expect(m.nproc).toBeGreaterThan(0);
    expect(m.onnxruntime).toMatch(/^\d+\.\d+/);
    expect(m.node).toBe(process.version);
  });

  it('throughput: every published reading is accepted and scored', async () => {
    const r = await runThroughput(setup, { readingsPerSensor: 40, perMessage: 1 });
    expect(r.readings).toBe(3 * 40);
    expect(r.windowsScored).toBe(r.windowsExpected);
    expect(r.windowsExpected).toBe(3 * 40);
    expect(r.baselineMessages).toBe(r.messages);
    expect(r.rejected).toBe(0);
    for (const x of [r.daemonRate, r.baselineRate, r.publishRate, r.ratio]) expect(Number.isFinite(x) && x > 0).toBe(true);
  });

  it('throughput with bursts counts readings, not messages', async () => {
    const r = await runThroughput({ ...setup, cell: 'lstm' }, { readingsPerSensor: 50, perMessage: 10 });
    expect(r.messages).toBe(3 * 5);
    expect(r.readings).toBe(3 * 50);
    expect(r.windowsScored).toBe(r.windowsExpected);
  });

  it('latency: pairs each reading with its scored reading', async () => {
    const r = await runLatency(setup, { rate: 300, seconds: 0.5 });
    expect(r.note).toBe('');
    expect(r.daemon?.n).toBe(r.windows);
    expect(r.baseline?.n).toBe(r.windows);
    expect(r.windows).toBeGreaterThan(0);
    expect(r.daemon!.p50).toBeGreaterThanOrEqual(0);
    expect(r.daemon!.p99).toBeLessThanOrEqual(r.daemon!.max);
  });

  it('per-stage costs cover every stage', async () => {
    const rows = await benchStages({ modelDir: models.dir, cell: 'gru', window: 16, hop: 4, sensors: 4, readingsPerSensor: 32, maxBatch: 8, brokerUrl: broker.url, events: 20 });
    const names = rows.map((r) => r.stage.split(' ')[0]);
    for (const stage of ['parse', 'detector', 'store', 'publish']) expect(names).toContain(stage);
    for (const r of rows) expect(Number.isFinite(r.usPerUnit) && r.usPerUnit > 0, r.stage).toBe(true);
  });

  it('start-up: the daemon process reaches ready', async () => {
    const r = await benchStartup({ brokerUrl: broker.url, modelDir: models.dir, cell: 'gru', window: 16, hop: 4 }, 1);
    expect(r.all).toHaveLength(1);
    expect(r.spawnToReadyMs).toBeGreaterThan(0);
  });
});
