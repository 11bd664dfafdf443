// Parse micro-benchmark, best of 7 runs: node scripts/parse-bench.mjs DIST (a built dist/ folder, e.g. ./dist or another checkout's) to compare builds.
const dist = process.argv[2];
const { MessageParser } = await import(`${dist}/pipeline/parse.js`);
const { compileSensorPattern } = await import(`${dist}/pipeline/topic.js`);
let opts;
try {
  const { parseOptionsOf } = await import(`${dist}/pipeline/ingest-options.js`);
  const { defaultConfig } = await import(`${dist}/config/schema.js`);
  opts = parseOptionsOf(defaultConfig());
} catch {
  opts = { sensorOf: compileSensorPattern('sensors/{sensor}'), maxPayloadBytes: 65536, maxFutureMs: 60000, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10000, longBurst: 'split', window: 64 };
}
const T0 = Date.UTC(2026, 10, 1);
const S = 100, N = 2000;
function msgs(kind) {
  const out = [];
  for (let k = 0; k < N; k++) for (let s = 0; s < S; s++) {
    const ts = T0 + k * 1000;
    let p;
    if (kind === 'single') p = `{"ts": ${ts}, "value": ${(20 + Math.sin(k / 7 + s)).toFixed(4)}}`;
    else if (kind === 'bare') p = (20 + Math.sin(k / 7 + s)).toFixed(4);
    else if (kind === 'fields') p = `{"ts": ${ts}, "temperature": ${(20 + Math.sin(k)).toFixed(2)}, "humidity": ${(40 + Math.cos(k)).toFixed(2)}, "linkquality": 200}`;
    out.push({ topic: `sensors/s${s}`, payload: Buffer.from(p), receivedAt: T0 + N * 1000 });
  }
  return out;
}
const bursts = [];
for (let k = 0; k < N; k += 100) for (let s = 0; s < S; s++) bursts.push({ topic: `sensors/s${s}`, payload: Buffer.from(`{"values": [${Array.from({ length: 100 }, (_, i) => (20 + Math.sin((k + i) / 7)).toFixed(4)).join(', ')}], "ts": ${T0 + k * 1000}, "interval_ms": 1000}`), receivedAt: T0 + N * 1000 });
for (const [name, list] of [['single {ts,value}', msgs('single')], ['bare number', msgs('bare')], ['object 3 fields', msgs('fields')], ['burst 100', bursts]]) {
  let best = Infinity, readings = 0;
  for (let r = 0; r < 7; r++) {
    const p = new MessageParser(opts);
    readings = 0;
    const t = performance.now();
    for (const m of list) { const res = p.parse(m); if (res.kind === 'readings') readings += res.readings.length; }
    best = Math.min(best, performance.now() - t);
  }
  console.log(`${name.padEnd(20)} ${(1000 * best / readings).toFixed(3)} µs/reading  ${(1000 * best / list.length).toFixed(3)} µs/message  (${readings} readings)`);
}
