// PROTOTYPE (measurement only, not the daemon): does moving the detector off the MQTT socket thread let the socket
// thread keep the do-nothing subscriber's rate, and what rate do 1 or 2 detector threads reach?
//   node scripts/split-proto.mjs ROOT [WORKERS=1] [SENSORS=100] [READINGS_PER_SENSOR=2000]
// As one cell of `npm run bench`'s throughput (src/bench/e2e.ts runThroughput, 1 reading a message, QoS 0): its own
// mosquitto, the publisher and the do-nothing subscriber as child processes, 128 warm-up readings a sensor, then the
// timed phase. In this process: an mqtt.js client (the daemon's options: no packet trace, no write cache, no delay)
// and the detector core (src/pipeline/detector.ts, built as scripts/detector-hash.mjs builds it: default config,
// window 64, hop 16, the shipped GRU on the detector's own thread) -- without the daemon's bookkeeping (store,
// dashboard series, status, explanations, checkpoints), which a real split would carry too.
//   WORKERS=0: the detector on the socket thread (today's shape);
//   WORKERS=N: N worker_threads, each a Detector for the sensors whose topic hashes to it; the socket thread only
//   packs each tick's messages per worker into one transferred ArrayBuffer (topics as strings beside it).
// Prints one JSON line: readings/s of the detector (first publish -> last reading scored) and of the subscriber,
// their ratio, the process's CPU µs a reading (all threads), and the event-loop utilisation of the socket thread
// and of each worker over the timed phase, and the CPU µs a reading of the socket thread and of each other busy thread
// (from /proc/self/task: the machine's load does not inflate them as it does wall-clock rates).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { threadCpu } from './thread-cpu.mjs';

const epochMs = () => performance.timeOrigin + performance.now();

async function makeDetector(root) {
  const at = (p) => pathToFileURL(resolve(root, p)).href;
  const { Subject } = await import(at('node_modules/rxjs/dist/cjs/index.js'));
  const { loadModel } = await import(at('dist/adapters/onnx-runner.js'));
  const { defaultConfig } = await import(at('dist/config/schema.js'));
  const { Detector, detectorOptions, priorsOf } = await import(at('dist/pipeline/detector.js'));
  const { MessageParser } = await import(at('dist/pipeline/parse.js'));
  const { parseOptionsOf } = await import(at('dist/pipeline/ingest-options.js'));
  const { INTERVAL_MS } = await import(at('dist/bench/payload.js'));
  const model = await loadModel(resolve(root, 'models/gru.json'));
  const base = defaultConfig();
  const cfg = {
    ...base,
    window: { ...base.window, length: 64, hop: 16, intervalMs: INTERVAL_MS },
    ingest: { ...base.ingest, topics: ['sensors/#'], sensorPattern: 'sensors/{sensor}' },
    model: { ...base.model, normWarmup: 1 },
  };
  let idn = 0;
  const det = new Detector(detectorOptions(cfg), {
    parser: new MessageParser(parseOptionsOf(cfg)),
    modelFor: () => ({ model, own: false }),
    priorsFor: () => priorsOf(model.sidecar),
    newId: () => `id-${idn++}`,
  });
  const input = new Subject();
  const counts = { readings: 0, lastAt: 0, events: 0, anomalous: 0, learning: 0 };
  input.pipe(det.operator()).subscribe({
    next: (o) => {
      if (o.type === 'reading') {
        counts.readings++;
        counts.lastAt = epochMs();
        counts.events += o.events.length;
        if (o.reading.status === 'learning') counts.learning++;
        else if (o.reading.status === 'anomalous') counts.anomalous++;
      }
    },
    error: (e) => { console.error(e); process.exit(1); },
  });
  return { input, counts };
}

if (!isMainThread) {
  const { root } = workerData;
  const { input, counts } = await makeDetector(root);
  let elu0 = null;
  parentPort.on('message', (m) => {
    if (m.type === 'batch') {
      const buf = Buffer.from(m.buf);
      for (let i = 0; i < m.topics.length; i++) input.next({ topic: m.topics[i], payload: buf.subarray(m.offs[i], m.offs[i + 1]), receivedAt: m.at });
    } else if (m.type === 'count') {
      parentPort.postMessage({ type: 'count', ...counts });
    } else if (m.type === 'elu0') {
      elu0 = performance.eventLoopUtilization();
    } else if (m.type === 'elu') {
      parentPort.postMessage({ type: 'elu', elu: performance.eventLoopUtilization(elu0).utilization });
    }
  });
  parentPort.postMessage({ type: 'ready' });
} else {
  const root = process.argv[2];
  if (root === undefined) {
    console.error('usage: node scripts/split-proto.mjs ROOT [WORKERS=1] [SENSORS=100] [READINGS_PER_SENSOR=2000]');
    process.exit(2);
  }
  const at = (p) => pathToFileURL(resolve(root, p)).href;
  const [W = 1, sensors = 100, readingsPerSensor = 2000] = process.argv.slice(3).map(Number);
  const { BenchBroker, waitFor } = await import(at('dist/bench/broker.js'));
  const { MqttChild } = await import(at('dist/bench/children.js'));
  const { syntheticT0 } = await import(at('dist/bench/e2e.js'));
  const mqtt = (await import(at('node_modules/mqtt/build/index.js'))).default;
  const broker = new BenchBroker();
  await broker.start();
  const workers = [];
  let local = null;
  const replies = new Map();
  const ask = (w, type) => new Promise((res) => { replies.set(w, res); w.postMessage({ type }); });
  if (W === 0) local = await makeDetector(root);
  for (let i = 0; i < W; i++) {
    const w = new Worker(new URL(import.meta.url), { workerData: { root } });
    await new Promise((res) => w.once('message', res));
    w.on('message', (m) => { const r = replies.get(w); replies.delete(w); r?.(m); });
    workers.push(w);
  }
  const counts = async () => {
    if (W === 0) return { ...local.counts };
    const all = await Promise.all(workers.map((w) => ask(w, 'count')));
    const sum = (k) => all.reduce((s, c) => s + c[k], 0);
    return { readings: sum('readings'), events: sum('events'), learning: sum('learning'), anomalous: sum('anomalous'), lastAt: Math.max(...all.map((c) => c.lastAt)) };
  };
  // Per worker: this tick's messages, packed and posted once per tick (setImmediate).
  const shardOf = new Map();
  const pend = Array.from({ length: W }, () => ({ topics: [], payloads: [], bytes: 0 }));
  let flushing = false;
  const flush = () => {
    flushing = false;
    const now = epochMs();
    for (let i = 0; i < W; i++) {
      const p = pend[i];
      if (p.topics.length === 0) continue;
      const buf = new ArrayBuffer(p.bytes);
      const u8 = new Uint8Array(buf);
      const offs = new Uint32Array(p.topics.length + 1);
      let o = 0;
      for (let k = 0; k < p.payloads.length; k++) { u8.set(p.payloads[k], o); o += p.payloads[k].length; offs[k + 1] = o; }
      workers[i].postMessage({ type: 'batch', topics: p.topics, buf, offs, at: now }, [buf]);
      pend[i] = { topics: [], payloads: [], bytes: 0 };
    }
  };
  const client = mqtt.connect(broker.url, { clientId: `split-proto-${process.pid}`, clean: true, protocolVersion: 4, writeCache: false, log: () => {} });
  client.on('message', (topic, payload) => {
    if (W === 0) { local.input.next({ topic, payload, receivedAt: epochMs() }); return; }
    let s = shardOf.get(topic);
    if (s === undefined) {
      let h = 0;
      for (let i = 0; i < topic.length; i++) h = (h * 31 + topic.charCodeAt(i)) >>> 0;
      shardOf.set(topic, (s = h % W));
    }
    const p = pend[s];
    p.topics.push(topic);
    p.payloads.push(payload);
    p.bytes += payload.length;
    if (!flushing) { flushing = true; setImmediate(flush); }
  });
  await new Promise((res) => client.on('connect', () => { client.stream.setNoDelay?.(true); client.subscribe('sensors/#', { qos: 0 }, res); }));
  const tag = `${process.pid}-${Date.now()}`;
  const baseline = await MqttChild.start({ role: 'subscriber', url: broker.url, clientId: `bench-null-${tag}`, filter: 'sensors/#', qos: 0 });
  const publisher = await MqttChild.start({ role: 'publisher', url: broker.url, clientId: `bench-pub-${tag}` });
  const t0 = syntheticT0();
  const hop = 16;
  const warm = await publisher.publish({ sensors, firstIndex: 0, readingsPerSensor: 128, perMessage: 1, rate: 0, qos: 0, t0, hop });
  const settle = async (n) => { let c = await counts(); const t = Date.now(); while (c.readings < n && Date.now() - t < 180_000) { await new Promise((r) => setTimeout(r, 20)); c = await counts(); } return c; };
  await settle(warm.readings);
  void waitFor;
  await baseline.arm(128, 0, 1);
  for (const w of workers) w.postMessage({ type: 'elu0' });
  const elu0 = performance.eventLoopUtilization();
  const thr0 = await threadCpu();
  const cpu0 = process.cpuUsage();
  const pub = await publisher.publish({ sensors, firstIndex: 128, readingsPerSensor, perMessage: 1, rate: 0, qos: 0, t0, hop });
  const c = await settle(warm.readings + pub.readings);
  const cpu = process.cpuUsage(cpu0);
  const thr1 = await threadCpu();
  const eluMain = performance.eventLoopUtilization(elu0).utilization;
  const eluWorkers = await Promise.all(workers.map((w) => ask(w, 'elu').then((m) => m.elu)));
  let base = await baseline.report();
  for (let i = 0; i < 50 && base.messages < pub.messages; i++) { await new Promise((r) => setTimeout(r, 100)); base = await baseline.report(); }
  const readings = c.readings - warm.readings;
  // µs of CPU a reading per thread: the socket thread (tid = pid) and every other thread that used > 2 % of the total.
  const used = [...thr1].map(([t, ms]) => [t, ms - (thr0.get(t) ?? 0)]);
  const total = used.reduce((a, [, ms]) => a + ms, 0);
  const socketUs = +((1000 * (used.find(([t]) => t === process.pid)?.[1] ?? 0)) / readings).toFixed(1);
  const otherUs = used.filter(([t, ms]) => t !== process.pid && ms > 0.02 * total).map(([, ms]) => +((1000 * ms) / readings).toFixed(1)).sort((a, b) => b - a);
  const daemonRate = readings / ((c.lastAt - pub.firstAt) / 1000);
  const baselineRate = base.messages / ((base.lastAt - pub.firstAt) / 1000);
  console.log(JSON.stringify({ root, workers: W, sensors, readingsPerSensor, readings, events: c.events, learning: c.learning, anomalous: c.anomalous, daemonRate: Math.round(daemonRate), baselineRate: Math.round(baselineRate), ratio: +(daemonRate / baselineRate).toFixed(3), cpuUsPerReading: +((cpu.user + cpu.system) / Math.max(1, readings)).toFixed(2), eluMain: +eluMain.toFixed(2), socketThreadUs: socketUs, otherThreadsUs: otherUs, eluWorkers: eluWorkers.map((x) => +x.toFixed(2)) }));
  await publisher.stop();
  await baseline.stop();
  client.end(true);
  for (const w of workers) await w.terminate();
  await broker.stop();
  process.exit(0);
}
