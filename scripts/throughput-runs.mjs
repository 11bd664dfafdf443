// Longer end-to-end throughput runs than `npm run bench -- --quick` (whose 100-sensor run is 40,000 readings, about a
// second), with the daemon's main thread's CPU apart from the process's:
//   node scripts/throughput-runs.mjs ROOT [READINGS_PER_SENSOR=2000] [RUNS=1] [SENSORS=100] [PER_MESSAGE=1] [gru|lstm]
// ROOT is a checkout with a built dist/ and models/ (this one, or a copy of the build before a change): run two
// ROOTs alternately to compare builds on a shared machine. Each run is src/bench/e2e.ts's runThroughput (a
// throwaway mosquitto, the publisher and the do-nothing subscriber as child processes, the daemon in this process,
// QoS 0, window 64, hop 16, warm-up 128 readings per sensor) and prints one JSON line:
//   mainUs     the main thread's CPU (/proc/self/task/<pid>/stat, 10 ms ticks) per reading, warm-up included
//   cpuUs      the process's CPU per reading of the timed phase (all threads: the bench's "CPU µs/reading")
//   daemon, sub, ratio   readings/s of the daemon and of the do-nothing subscriber, and their ratio
// Needs Linux (/proc) and mosquitto on the PATH, as the bench does.
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.argv[2];
if (root === undefined || root === '-h' || root === '--help') {
  console.error('usage: node scripts/throughput-runs.mjs ROOT [READINGS_PER_SENSOR=2000] [RUNS=1] [SENSORS=100] [PER_MESSAGE=1] [gru|lstm]');
  process.exit(root === undefined ? 2 : 0);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const [n, runs, sensors, perMessage] = [3, 4, 5, 6].map((i, k) => Number(process.argv[i] ?? [2000, 1, 100, 1][k]));
const cell = process.argv[7] ?? 'gru';
const WARMUP = 128;
const { runThroughput } = await import(at('dist/bench/e2e.js'));
const { BenchBroker } = await import(at('dist/bench/broker.js'));
const { benchModels } = await import(at('dist/bench/models.js'));

/** CPU ticks (1/100 s) of the main thread and of every thread of this process. */
function ticks() {
  let main = 0;
  let all = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      const t = Number(f[11]) + Number(f[12]);
      all += t;
      if (Number(tid) === process.pid) main += t;
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return { main, all };
}

const models = await benchModels({ window: 64, hidden: 32 });
const broker = new BenchBroker();
await broker.start();
try {
  for (let i = 0; i < runs; i++) {
    const k0 = ticks();
    const r = await runThroughput(
      { brokerUrl: broker.url, modelDir: models.dir, cell, sensors, window: 64, hop: 16, qos: 0, warmupPerSensor: WARMUP },
      { readingsPerSensor: n, perMessage },
    );
    const k1 = ticks();
    const perReading = (t) => +((t * 10_000) / (r.readings + WARMUP * sensors)).toFixed(2);
    console.log(JSON.stringify({
      root, cell, sensors, perMessage, load: +loadavg()[0].toFixed(2), readings: r.readings,
      mainUs: perReading(k1.main - k0.main), cpuUs: +r.cpuUsPerReading.toFixed(2),
      daemon: Math.round(r.daemonRate), sub: Math.round(r.baselineRate), ratio: +r.ratio.toFixed(3),
      events: r.events, scored: `${r.windowsScored}/${r.windowsExpected}`,
    }));
  }
} finally {
  await broker.stop();
}
