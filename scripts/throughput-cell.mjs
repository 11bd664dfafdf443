// One cell of the benchmark's end-to-end throughput, alone and as long as asked (to profile it, or to compare two
// builds run after run):
//   node [--cpu-prof --cpu-prof-dir=DIR] scripts/throughput-cell.mjs ROOT [SENSORS=100] [PER_MESSAGE=1] [READINGS_PER_SENSOR=2000]
// ROOT is a built checkout (dist/ and models/). As `node dist/bench/index.js --only throughput` runs each cell
// (src/bench/e2e.ts runThroughput): its own mosquitto, the publisher and the do-nothing subscriber as child processes,
// the daemon in this process (shipped GRU, window 64, hop 16, 2 x 64 warm-up readings a sensor), then the timed phase.
// Prints one JSON line: daemon and subscriber rates (readings/s), their ratio, and the process's CPU µs per reading.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const root = process.argv[2];
if (root === undefined) {
  console.error('usage: node scripts/throughput-cell.mjs ROOT [SENSORS=100] [PER_MESSAGE=1] [READINGS_PER_SENSOR=2000]');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const [sensors = 100, perMessage = 1, readingsPerSensor = 2000] = process.argv.slice(3).map(Number);
const { BenchBroker } = await import(at('dist/bench/broker.js'));
const { runThroughput } = await import(at('dist/bench/e2e.js'));
const { benchModels } = await import(at('dist/bench/models.js'));
const models = await benchModels({ window: 64, hidden: 32 });
const broker = new BenchBroker();
await broker.start();
try {
  const r = await runThroughput(
    { brokerUrl: broker.url, modelDir: models.dir, cell: 'gru', sensors, window: 64, hop: 16, qos: 0, warmupPerSensor: 128 },
    { readingsPerSensor, perMessage },
  );
  console.log(JSON.stringify({ root, sensors, perMessage, readingsPerSensor, daemonRate: Math.round(r.daemonRate), baselineRate: Math.round(r.baselineRate), ratio: +r.ratio.toFixed(3), cpuUsPerReading: +r.cpuUsPerReading.toFixed(2), scored: r.windowsScored, events: r.events }));
} finally {
  await broker.stop();
}
