/**
 * `npm run bench`: the performance suite. Prints the markdown tables, writes every figure with the
 * machine and versions to a JSON file, and with --markdown refreshes BENCHMARKS.md's generated block.
 *
 *   node dist/bench/index.js [--quick] [--only throughput,latency,backpressure,memory,startup,stages,training]
 *                            [--cells gru,lstm] [--json PATH] [--markdown BENCHMARKS.md]
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { CellKind } from '../model/spec.js';
import { BenchBroker, mosquittoVersion } from './broker.js';
import { runBackpressure, runLatency, runThroughput, type BackpressureResult, type E2eSetup, type LatencyResult, type ThroughputResult } from './e2e.js';
import { machineInfo } from './machine.js';
import { benchModels } from './models.js';
import { benchMemory, benchStartup, type MemoryResult, type StartupResult } from './process-bench.js';
import { evaluateGoals, renderMarkdown, spliceMarkdown, type BenchResults } from './report.js';
import { benchStages, type StageCost } from './stages.js';
import { benchTraining } from './train-bench.js';
import { benchTrainDay, type TrainDayResult } from './train-day.js';

const SECTIONS = ['throughput', 'latency', 'backpressure', 'memory', 'startup', 'stages', 'training'] as const;
type Section = (typeof SECTIONS)[number];

export interface SuiteOptions {
  readonly quick: boolean;
  readonly only: ReadonlySet<Section>;
  readonly cells: readonly CellKind[];
  readonly window: number;
  readonly hop: number;
  readonly hidden: number;
  readonly command: string;
  readonly log: (line: string) => void;
}

/** Sizes of each run: the full suite stays under ~10 minutes on 2 cores, --quick under ~2. */
function plan(quick: boolean): {
  throughput: { sensors: number; perMessage: number; readingsPerSensor: number }[];
  latencySeconds: number;
  backpressureSeconds: number;
  memory: { sensors: number; readingsPerSensor: number };
  startupRuns: number;
  stages: { sensors: number; readingsPerSensor: number; events: number };
} {
  return quick
    ? {
        throughput: [
          { sensors: 1, perMessage: 1, readingsPerSensor: 16_000 },
          { sensors: 100, perMessage: 1, readingsPerSensor: 400 },
          { sensors: 1000, perMessage: 1, readingsPerSensor: 48 },
          { sensors: 100, perMessage: 100, readingsPerSensor: 2000 },
        ],
        latencySeconds: 3,
        backpressureSeconds: 3,
        memory: { sensors: 1000, readingsPerSensor: 128 },
        startupRuns: 2,
        stages: { sensors: 100, readingsPerSensor: 128, events: 1000 },
      }
    : {
        throughput: [
          { sensors: 1, perMessage: 1, readingsPerSensor: 100_000 },
          { sensors: 100, perMessage: 1, readingsPerSensor: 2000 },
          { sensors: 1000, perMessage: 1, readingsPerSensor: 256 },
          { sensors: 100, perMessage: 100, readingsPerSensor: 10_000 },
          { sensors: 1000, perMessage: 100, readingsPerSensor: 1000 },
        ],
        latencySeconds: 10,
        backpressureSeconds: 8,
        memory: { sensors: 1000, readingsPerSensor: 320 },
        startupRuns: 5,
        stages: { sensors: 256, readingsPerSensor: 256, events: 5000 },
      };
}

export async function runSuite(o: SuiteOptions): Promise<BenchResults> {
  const started = Date.now();
  const p = plan(o.quick);
  const machine = machineInfo();
  if (mosquittoVersion() === null) throw new Error('mosquitto is not installed (apt-get install mosquitto): the benchmark needs a real broker');
  const models = await benchModels({ window: o.window, hidden: o.hidden });
  const broker = new BenchBroker();
  await broker.start();
  const throughput: ThroughputResult[] = [];
  const latency: LatencyResult[] = [];
  const backpressure: BackpressureResult[] = [];
  let memory: MemoryResult | null = null;
  let startup: StartupResult | null = null;
  const stages: Record<string, StageCost[]> = {};
  const errors: string[] = [];
  let training: Record<string, number>[] = [];
  let trainDay: TrainDayResult[] = [];
  /** One failed run is recorded and the suite goes on: a partial table beats none. */
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    o.log(what);
    try {
      await fn();
    } catch (err) {
      const msg = `${what}: ${err instanceof Error ? err.message : String(err)}`;
      o.log(`FAILED ${msg}`);
      errors.push(msg);
    }
  };
  const setup = (cell: CellKind, sensors: number, qos: 0 | 1 = 0): E2eSetup => ({
    brokerUrl: broker.url, modelDir: models.dir, cell, sensors, window: o.window, hop: o.hop, qos, warmupPerSensor: 2 * o.window,
  });
  try {
    if (o.only.has('throughput')) {
      for (const cell of o.cells) {
        for (const run of p.throughput) {
          await attempt(`throughput: ${cell}, ${run.sensors} sensors, ${run.perMessage} readings/message`, async () => {
            throughput.push(await runThroughput(setup(cell, run.sensors), run));
          });
        }
      }
    }
    if (o.only.has('latency')) {
      for (const cell of o.cells) {
        await attempt(`latency: ${cell}, 100 sensors, 10,000 readings/s`, async () => {
          latency.push(await runLatency(setup(cell, 100), { rate: 10_000, seconds: p.latencySeconds }));
        });
      }
    }
    if (o.only.has('backpressure')) {
      const cell = o.cells[0];
      await attempt(`backpressure: ${cell}, QoS 1 at twice the sustained rate`, async () => {
        const sustained = throughput.find((t) => t.cell === cell && t.sensors === 100 && t.perMessage === 1)?.daemonRate
          ?? (await runThroughput(setup(cell, 100), p.throughput[1])).daemonRate;
        backpressure.push(await runBackpressure(setup(cell, 100, 1), { rate: 2 * sustained, seconds: p.backpressureSeconds }));
      });
    }
    const proc = { brokerUrl: broker.url, modelDir: models.dir, cell: o.cells[0], window: o.window, hop: o.hop };
    if (o.only.has('memory')) {
      await attempt(`memory: daemon process, ${p.memory.sensors} sensors`, async () => {
        memory = await benchMemory(proc, p.memory.sensors, p.memory.readingsPerSensor);
      });
    }
    if (o.only.has('startup')) {
      await attempt(`startup: ${p.startupRuns} runs`, async () => {
        startup = await benchStartup(proc, p.startupRuns);
      });
    }
    if (o.only.has('stages')) {
      for (const cell of o.cells) {
        await attempt(`stages: ${cell}`, async () => {
          stages[cell] = await benchStages({ modelDir: models.dir, cell, window: o.window, hop: o.hop, maxBatch: 256, brokerUrl: cell === o.cells[0] ? broker.url : null, ...p.stages });
        });
      }
    }
    if (o.only.has('training')) {
      await attempt('training: window 64, hidden 32, 1 and 8 channels', async () => {
        training = await benchTraining();
      });
      // A full day per cell takes a minute or more; the quick run skips it.
      if (!o.quick) {
        await attempt(`training: a day of 1 Hz readings (${o.cells.join(', ')})`, async () => {
          trainDay = await benchTrainDay(o.cells);
        });
      }
    }
  } finally {
    await broker.stop();
  }
  const partial = {
    command: o.command,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    machine,
    models: models.source,
    settings: { window: o.window, hop: o.hop, hidden: o.hidden, quick: o.quick },
    throughput, latency, backpressure, memory, startup, stages, training, trainDay, errors,
  };
  return { ...partial, goals: evaluateGoals(partial) };
}

function parseSections(v: string | undefined): Set<Section> {
  if (v === undefined) return new Set(SECTIONS);
  const names = v.split(',').map((x) => x.trim());
  for (const n of names) if (!(SECTIONS as readonly string[]).includes(n)) throw new Error(`unknown section ${n}; known: ${SECTIONS.join(', ')}`);
  return new Set(names as Section[]);
}

function parseCells(v: string): CellKind[] {
  const cells = v.split(',').map((x) => x.trim());
  for (const c of cells) if (c !== 'gru' && c !== 'lstm') throw new Error(`unknown cell ${c}`);
  return cells as CellKind[];
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      cells: { type: 'string', default: 'gru,lstm' },
      json: { type: 'string', default: 'bench-results/latest.json' },
      markdown: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`Usage: node dist/bench/index.js [--quick] [--only ${SECTIONS.join(',')}] [--cells gru,lstm] [--json PATH] [--markdown BENCHMARKS.md]\n`);
    return 0;
  }
  const results = await runSuite({
    quick: values.quick,
    only: parseSections(values.only),
    cells: parseCells(values.cells),
    window: 64,
    hop: 16,
    hidden: 32,
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    log: (line) => void process.stderr.write(`bench: ${line}\n`),
  });
  const md = renderMarkdown(results);
  process.stdout.write(`${md}\n`);
  mkdirSync(dirname(values.json), { recursive: true });
  writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`bench: results written to ${values.json}\n`);
  if (values.markdown !== undefined) {
    const doc = existsSync(values.markdown) ? readFileSync(values.markdown, 'utf8') : '';
    writeFileSync(values.markdown, spliceMarkdown(doc, md));
    process.stderr.write(`bench: ${values.markdown} updated\n`);
  }
  return 0;
}

// Run only as the entry point, so tests can import runSuite.
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
