// One cell of the benchmark's throughput (as scripts/throughput-cell.mjs runs it: its own mosquitto, the publisher and
// the do-nothing subscriber as child processes, the daemon in this process, shipped GRU, window 64, hop 16, 2 x 64
// warm-up readings a sensor), with the timed phase alone profiled: the inspector is started after the warm-up and
// stopped when the last reading is scored, so start-up, warm-up and the stop's checkpoint are not in the profile.
//   node scripts/throughput-timed-profile.mjs ROOT [SENSORS=100] [PER_MESSAGE=1] [READINGS_PER_SENSOR=2000] [OUT] [--heap]
// OUT: a .cpuprofile (sampled every 200 µs; `node dist/bench/profile-summary.js OUT`), or with --heap a
// .heapprofile (sampling heap profile every 512 bytes, collected objects kept: what the timed phase allocated).
// Prints one JSON line: the timed phase's process CPU µs a reading and each thread's (/proc/self/task, tid less pid).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Session } from 'node:inspector/promises';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2).filter((a) => a !== '--heap');
const heap = process.argv.includes('--heap');
const root = args[0];
if (root === undefined) {
  console.error('usage: node scripts/throughput-timed-profile.mjs ROOT [SENSORS=100] [PER_MESSAGE=1] [READINGS_PER_SENSOR=2000] [OUT] [--heap]');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const [sensors = 100, perMessage = 1, readingsPerSensor = 2000] = args.slice(1, 4).map(Number);
const out = args[4];
/** CPU ms of each thread of this process (utime + stime, 10 ms ticks). */
function threads() {
  const m = new Map();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const f = readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1].split(' ');
      m.set(Number(t), (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      /* a thread that ended */
    }
  }
  return m;
}
const { BenchBroker } = await import(at('dist/bench/broker.js'));
const { startRig, warmUp } = await import(at('dist/bench/e2e.js'));
const { benchModels } = await import(at('dist/bench/models.js'));
const models = await benchModels({ window: 64, hidden: 32 });
const broker = new BenchBroker();
await broker.start();
const s = { brokerUrl: broker.url, modelDir: models.dir, cell: 'gru', sensors, window: 64, hop: 16, qos: 0, warmupPerSensor: 128 };
const rig = await startRig(s);
try {
  await warmUp(rig, s, perMessage);
  const d = rig.daemon;
  const before = { ...d.counters };
  await rig.baseline.arm(rig.next, 0, perMessage);
  const session = new Session();
  session.connect();
  if (out !== undefined && heap) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  } else if (out !== undefined) {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  }
  const th0 = threads();
  const cpu0 = process.cpuUsage();
  const pub = await rig.publisher.publish({ sensors, firstIndex: rig.next, readingsPerSensor, perMessage, rate: 0, qos: 0, t0: rig.t0, hop: 16 });
  await d.settle(before.readings + pub.readings, before.scored + pub.readings, 120_000);
  const cpu = process.cpuUsage(cpu0);
  const th1 = threads();
  if (out !== undefined) {
    const { profile } = await session.post(heap ? 'HeapProfiler.stopSampling' : 'Profiler.stop');
    writeFileSync(out, JSON.stringify(profile));
  }
  const readings = d.counters.readings - before.readings;
  const per = (ms) => +((1000 * ms) / readings).toFixed(1);
  const byThread = [...th1].map(([t, ms]) => [t - process.pid, per(ms - (th0.get(t) ?? 0))]).filter(([, us]) => us > 0.2);
  console.log(JSON.stringify({ root, sensors, perMessage, readingsPerSensor, readings, cpuUsPerReading: +((cpu.user + cpu.system) / readings).toFixed(2), events: d.counters.events - before.events, threadUsPerReading: byThread }));
} finally {
  await rig.stop();
  await broker.stop();
}
