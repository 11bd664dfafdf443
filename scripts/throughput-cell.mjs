// One cell of the benchmark's end-to-end throughput, alone and as long as asked (to profile it, or to compare two
// builds run after run):
//   node [--cpu-prof --cpu-prof-dir=DIR] scripts/throughput-cell.mjs ROOT [SENSORS=100] [PER_MESSAGE=1] [READINGS_PER_SENSOR=2000]
// ROOT is a built checkout (dist/ and models/). As `node dist/bench/index.js --only throughput` runs each cell
// (src/bench/e2e.ts runThroughput): its own mosquitto, the publisher and the do-nothing subscriber as child processes,
// the daemon in this process (shipped GRU, window 64, hop 16, 2 x 64 warm-up readings a sensor), then the timed phase.
// Prints one JSON line: daemon and subscriber rates (readings/s), their ratio, and the process's CPU µs per reading
// (timed phase); and, from /proc/self/task, each busy thread's CPU over the whole run (start-up and warm-up included)
// per timed reading.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadCpu } from './thread-cpu.mjs';
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
  const thr0 = await threadCpu();
  const r = await runThroughput(
    { brokerUrl: broker.url, modelDir: models.dir, cell: 'gru', sensors, window: 64, hop: 16, qos: 0, warmupPerSensor: 128 },
    { readingsPerSensor, perMessage },
  );
  // The whole run's CPU (start, warm-up, timed phase, stop) per timed reading, by thread: the main (socket) thread, and
  // every other thread that used more than 2 % of the total (the inference worker first, then libuv's and V8's).
  const thr1 = await threadCpu();
  const used = [...thr1].map(([t, ms]) => [t, ms - (thr0.get(t) ?? 0)]);
  const total = used.reduce((a, [, ms]) => a + ms, 0);
  const per = (ms) => +((1000 * ms) / r.readings).toFixed(1);
  const threads = { main: per(used.find(([t]) => t === process.pid)?.[1] ?? 0), others: used.filter(([t, ms]) => t !== process.pid && ms > 0.02 * total).sort((a, b) => b[1] - a[1]).map(([t, ms]) => `+${t - process.pid}: ${per(ms)}`) };
  console.log(JSON.stringify({ threadUsPerReadingWholeRun: threads, root, sensors, perMessage, readingsPerSensor, daemonRate: Math.round(r.daemonRate), baselineRate: Math.round(r.baselineRate), ratio: +r.ratio.toFixed(3), cpuUsPerReading: +r.cpuUsPerReading.toFixed(2), scored: r.windowsScored, events: r.events }));
} finally {
  await broker.stop();
}
