// Tryout 12, findings 5/6 (dead sensors not alerted), reproduced: the daemon in-process (ROOT's dist, `gru`,
// learning.enabled: false), its embedded broker on PORT, an injected clock. Per seed, a sensor with tryout 12's
// live12.mjs generator (20 ± 0.5 to 3 decimals, 1 Hz): H readings, each arriving at its own time, with the gaps
// GAPS (i:lost,...) in its data, then silent: its silence judged every 2 s of virtual time for MAX s. Prints when the
// open came (or null), the deviation each minute, and whether the stream learns and its history of runs is ready.
// usage: node scripts/silence-repro.mjs ROOT PORT SEEDS(1-3|1,5) H [GAPS] [MAX]
import { mkdtempSync } from 'node:fs'; import { tmpdir } from 'node:os'; import { join } from 'node:path';
const [ROOT, PORT, SEEDS, H, GAPS, MAX] = [process.argv[2], Number(process.argv[3]), process.argv[4], Number(process.argv[5]), process.argv[6] ?? '', Number(process.argv[7] ?? 720)];
const { loadConfig } = await import(join(ROOT, 'dist/config/load.js'));
const { Daemon } = await import(join(ROOT, 'dist/daemon.js'));
const pino = (await import(join(ROOT, 'node_modules/pino/pino.js'))).default;
const mqtt = (await import(join(ROOT, 'node_modules/mqtt/build/index.js'))).default;
const gaps = new Map(GAPS ? GAPS.split(',').map((g) => g.split(':').map(Number)) : []);
const seeds = SEEDS.includes('-') ? (([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i))(SEEDS.split('-').map(Number)) : SEEDS.split(',').map(Number);
for (const seed0 of seeds) {
  let seed = seed0; const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  const gauss = () => { let u = 0; while (!u) u = rnd(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd()); };
  const v = () => +(20 + 0.5 * gauss()).toFixed(3);
  const dataDir = mkdtempSync(join(tmpdir(), 'silence2-repro-'));
  // The clock starts before the data (the daemon listens from then on) and runs with it: each reading arrives at its time.
  const end = Math.floor(Date.now() / 1000) * 1000;
  let now = end - H * 1000;
  const loaded = loadConfig({ path: '/dev/null', env: {}, overrides: { dataDir, broker: { port: PORT }, http: { enabled: false }, model: { dir: join(ROOT, 'models'), worker: false }, learning: { enabled: false } } });
  const logs = [];
  const logger = pino({ level: 'info' }, { write: (l) => logs.push(l) });
  const daemon = new Daemon({ config: loaded.config, logger, now: () => now, arrivalNow: () => now });
  await daemon.start();
  const pub = await mqtt.connectAsync(daemon.brokerUrl, { clientId: 'repro-pub' });
  // data: H steps ending now; gaps drop readings
  const ts0 = end - (H - 1) * 1000; let sent = 0; const vals = [];
  let skip = 0;
  for (let i = 0; i < H; i++) { const x = v(); if (gaps.has(i)) skip = gaps.get(i); if (skip > 0) { skip--; continue; } vals.push({ ts: ts0 + i * 1000, value: x }); }
  // sent in time order, each arriving at its own time (clock set to its ts)
  for (let i = 0; i < vals.length; i += 1) {
    const r = vals[i]; now = r.ts;
    await pub.publishAsync('sensors/b', JSON.stringify(r), { qos: 1 });
    sent++;
    if (i % 50 === 49 || i === vals.length - 1) { while (daemon.counters.scored < sent) await new Promise((res) => setTimeout(res, 5)); daemon.judgeSilences(); }
  }
  const last = vals.at(-1).ts;
  let opened = null; const lines = [];
  const store = daemon.database;
  const before = store.listAnomalies({ sensor: 'b', limit: 100 }).length;
  for (let el = 2000; el <= MAX * 1000; el += 2000) {
    now = last + el;
    if (el % 60000 === 0) { const j = daemon.detector.judgeSilence('b', last, now); lines.push([el / 1000, j.missed, Math.round(j.deviation * 100) / 100]); }
    daemon.judgeSilences();
    const a = store.listAnomalies({ sensor: 'b', limit: 100 });
    if (a.length > before && opened === null) { opened = el / 1000; lines.push(a[0].sentence); }
  }
  const det = daemon.detector; 
  const sc = det.scorer; const st = sc.streams.get('b');
  const row = st.reference[7] ?? null;
  const info = { learning: det.learning('b'), seen: st.seen, learnFrom: st.learnFrom, stuckRow: row === null ? null : row.map((h) => ({ ready: h.ready, count: h.count, need: h.need })), lastStatus: st.lastScored?.status };
  console.log(JSON.stringify({ info, seed: seed0, readings: vals.length, episodesBefore: before, openedAfterS: opened, curve: lines, open: det?.openAnomaly('b') ?? null }));
  await pub.endAsync(); await daemon.stop();
}
process.exit(0);
