#!/usr/bin/env node
/**
 * What the daemon's resident memory is made of, before and after traffic: runs the daemon as its own process as
 * the benchmark's memory run does (`dist/main.js run`, the shipped GRU, window 64, hop 16, a throwaway mosquitto,
 * the benchmark's publisher: `--sensors` one-channel sensors × `--readings` readings at full speed), and reads, when
 * it has started and idled and again when it is idle after the traffic:
 * - VmRSS / VmHWM (/proc/PID/status), the figure the benchmark reports;
 * - /proc/PID/smaps summed by what is mapped (the node binary, libonnxruntime, other files, [heap] = the main
 *   thread's malloc arena, anonymous mappings: V8's heap pages, the other threads' malloc arenas, large mallocs);
 * - each V8 isolate's own view (`process.memoryUsage()` and `v8.getHeapStatistics()` in the main thread and in the
 *   inference worker), through a preloaded probe (`--require`; it is loaded in every thread and answers on a
 *   BroadcastChannel when the script sends the daemon SIGWINCH; it allocates nothing before it is asked).
 *
 *   npm run build && node scripts/memory-rss.mjs [--sensors 1000] [--readings 128] [--runs 1]
 *     [--root DIR (a worktree; default this one)] [--port 19660 (the broker's)]
 *     [--node "--max-semi-space-size=4 ..." (flags for the daemon's node)] [--env K=V ...] [--json FILE]
 *
 * Output: one Markdown table per run on stdout, MB.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const all = (name) => args.flatMap((a, i) => (a === `--${name}` ? [args[i + 1]] : []));
const root = resolve(opt('root', fileURLToPath(new URL('..', import.meta.url))));
const sensors = Number(opt('sensors', '1000'));
const readings = Number(opt('readings', '128'));
const runs = Number(opt('runs', '1'));
const port = Number(opt('port', '19660'));
const nodeFlags = (opt('node', '') ?? '').split(/\s+/).filter(Boolean);
const extraEnv = Object.fromEntries(all('env').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const jsonOut = opt('json', null);
const linger = Number(opt('linger', '0'));

const dist = (p) => import(join(root, 'dist', p));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The probe: CommonJS, loaded by --require in the main thread and in each worker. */
const PROBE = `
const { isMainThread, threadId } = require('node:worker_threads');
const v8 = require('node:v8');
const ch = new BroadcastChannel('anomalyd-memory-rss');
ch.unref();
const mine = () => {
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  return { thread: isMainThread ? 'main' : 'worker ' + threadId, heapUsed: m.heapUsed, heapTotal: m.heapTotal,
    external: m.external, arrayBuffers: m.arrayBuffers, physical: h.total_physical_size, malloced: h.malloced_memory,
    peakMalloced: h.peak_malloced_memory, code: (v8.getHeapCodeStatistics().code_and_metadata_size),
    spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { resident: s.physical_space_size, used: s.space_used_size }])) };
};
if (isMainThread) {
  const out = process.env.MEMORY_RSS_OUT;
  process.on('SIGWINCH', () => {
    const got = [mine()];
    ch.onmessage = (e) => { if (e.data && e.data.thread) got.push(e.data); };
    ch.postMessage({ ask: true });
    setTimeout(() => require('node:fs').writeFileSync(out, JSON.stringify(got)), 300);
  });
} else {
  ch.onmessage = (e) => { if (e.data && e.data.ask) ch.postMessage(mine()); };
}
`;

function startBroker(dir) {
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'set_tcp_nodelay true', 'max_queued_messages 0', ''].join('\n'));
  return spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'ignore'] });
}

const canConnect = () =>
  new Promise((r) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });

async function waitFor(pred, ms, what, every = 50) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * smaps summed by mapping: MB resident. Anonymous mappings are told apart by their shape: glibc's malloc arenas of
 * threads other than the main one are 64 MB-aligned reservations of 64 MB (HEAP_MAX_SIZE on 64-bit: an rw part
 * followed by an inaccessible rest), "anonymous: thread malloc arenas"; the rest ("anonymous: other") holds V8's
 * heap pages, large malloc chunks (mmap'd, >= 128 kB: big typed arrays' stores, onnxruntime's tensors) and stacks.
 */
function smaps(pid) {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const maps = [];
  let cur = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[4].trim();
      let name = path === '' ? 'anonymous' : path.startsWith('[') ? path : /onnxruntime/.test(path) ? 'libonnxruntime' : path === process.execPath ? 'node binary' : 'other files';
      if (/better_sqlite3|sqlite/.test(path)) name = 'sqlite (better-sqlite3)';
      cur = { start: BigInt('0x' + head[1]), end: BigInt('0x' + head[2]), perms: head[3], name, rss: 0 };
      maps.push(cur);
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m && cur) cur.rss += Number(m[1]) / 1024;
  }
  const ARENA = 64n << 20n;
  for (let i = 0; i < maps.length; i++) {
    const a = maps[i];
    if (a.name !== 'anonymous' || a.start % ARENA !== 0n) continue;
    const b = maps[i + 1];
    const whole = b && b.name === 'anonymous' && b.start === a.end && b.perms.startsWith('---') ? b.end - a.start : a.end - a.start;
    if (whole === ARENA) a.name = 'anonymous: thread malloc arenas';
  }
  const out = {};
  for (const a of maps) {
    const name = a.name === 'anonymous' ? 'anonymous: other' : a.name;
    out[name] = (out[name] ?? 0) + a.rss;
  }
  return out;
}

function status(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), threads: kb('Threads') * 1024 };
}

function ticks(pid) {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function idle(pid, ms) {
  let last = ticks(pid);
  let since = Date.now();
  await waitFor(() => {
    const now = ticks(pid);
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return Date.now() - since >= ms;
  }, 900_000, 'idle');
}

async function probe(pid, file) {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGWINCH');
  await waitFor(() => existsSync(file), 60_000, 'probe');
  await sleep(50);
  return JSON.parse(readFileSync(file, 'utf8'));
}

async function one(run) {
  const { MqttChild } = await dist('bench/children.js');
  const { benchModels } = await dist('bench/models.js');
  const { syntheticT0 } = await dist('bench/e2e.js');
  const { stringify } = await import(join(root, 'node_modules/yaml/dist/index.js'));
  const models = await benchModels({ window: 64, hidden: 32 });
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-memrss-'));
  const broker = startBroker(dir);
  await waitFor(canConnect, 10_000, 'mosquitto');
  const config = {
    version: 1,
    dataDir: join(dir, 'data'),
    log: { level: 'warn' },
    broker: { enabled: false },
    mqtt: { url: `mqtt://127.0.0.1:${port}`, qos: 0, clean: true, clientId: `anomalyd-memrss-${process.pid}-${run}` },
    model: { dir: models.dir, cell: 'gru', normWarmup: 1 },
    window: { length: 64, hop: 16, intervalMs: 1000 },
    http: { port: 0 },
  };
  writeFileSync(join(dir, 'config.yaml'), stringify(config));
  writeFileSync(join(dir, 'probe.cjs'), PROBE);
  const probeOut = join(dir, 'probe.json');
  const logFd = openSync(join(dir, 'stdout.log'), 'w');
  const proc = spawn(process.execPath, [...nodeFlags, '--require', join(dir, 'probe.cjs'), join(root, 'dist/main.js'), 'run', '--config', join(dir, 'config.yaml')], {
    cwd: dir,
    stdio: ['ignore', logFd, 'inherit'],
    env: { ...process.env, ANOMALYD_CONFIG: '', MEMORY_RSS_OUT: probeOut, ...extraEnv },
  });
  let publisher = null;
  try {
    await sleep(1500);
    await idle(proc.pid, 1000);
    const before = { status: status(proc.pid), smaps: smaps(proc.pid), heaps: await probe(proc.pid, probeOut) };
    publisher = await MqttChild.start({ role: 'publisher', url: `mqtt://127.0.0.1:${port}`, clientId: `memrss-pub-${process.pid}-${run}` });
    const t0 = Date.now();
    const cpu0 = ticks(proc.pid);
    await publisher.publish({ sensors, firstIndex: 0, readingsPerSensor: readings, perMessage: 1, rate: 0, qos: 0, t0: syntheticT0(), hop: 16 }, 1_800_000);
    await idle(proc.pid, 1000);
    const fedSeconds = (Date.now() - t0) / 1000;
    // The daemon's CPU for the traffic (user + system, both threads; clock ticks of 10 ms).
    const cpuSeconds = (ticks(proc.pid) - cpu0) / 100;
    const after = { status: status(proc.pid), smaps: smaps(proc.pid), heaps: await probe(proc.pid, probeOut) };
    const trail = [];
    for (let s = 5; s <= linger; s += 5) {
      await sleep(5000);
      trail.push({ s, rss: status(proc.pid).rss });
    }
    const late = linger > 0 ? { status: status(proc.pid), smaps: smaps(proc.pid), heaps: await probe(proc.pid, probeOut) } : null;
    closeSync(logFd);
    const log = readFileSync(join(dir, 'stdout.log'), 'utf8');
    // --trace-gc lines: "... Mark-Compact A (B) -> C (D) MB ...": used (committed) before and after.
    const gcs = [...log.matchAll(/(Scavenge|Mark-Compact|Mark-Compact \(reduce\))[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB[^\n]*/g)].map((m) => m[0]);
    return { before, after, fedSeconds, cpuSeconds, trail, late, gcs };
  } finally {
    await publisher?.stop();
    if (proc.exitCode === null) {
      await new Promise((r) => {
        proc.once('exit', r);
        proc.kill('SIGTERM');
      });
    }
    broker.kill('SIGTERM');
    await new Promise((r) => (broker.exitCode !== null ? r() : broker.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

const MB = (b) => (b / 2 ** 20).toFixed(1);
function table(r) {
  const rows = [];
  const keys = [...new Set([...Object.keys(r.before.smaps), ...Object.keys(r.after.smaps)])].sort();
  rows.push(['VmRSS', r.before.status.rss.toFixed(1), r.after.status.rss.toFixed(1)]);
  rows.push(['VmHWM (peak)', r.before.status.hwm.toFixed(1), r.after.status.hwm.toFixed(1)]);
  rows.push(['threads', String(r.before.status.threads), String(r.after.status.threads)]);
  for (const k of keys) rows.push([`smaps: ${k}`, (r.before.smaps[k] ?? 0).toFixed(1), (r.after.smaps[k] ?? 0).toFixed(1)]);
  const threads = [...new Set([...r.before.heaps, ...r.after.heaps].map((h) => h.thread))];
  for (const t of threads) {
    const b = r.before.heaps.find((h) => h.thread === t);
    const a = r.after.heaps.find((h) => h.thread === t);
    for (const [f, label] of [['heapUsed', 'V8 heap used'], ['heapTotal', 'V8 heap committed'], ['physical', 'V8 heap resident'], ['external', 'external (ArrayBuffers, …)'], ['malloced', 'V8 malloced']]) {
      rows.push([`${t}: ${label}`, b ? MB(b[f]) : '–', a ? MB(a[f]) : '–']);
    }
    // Each V8 space, resident (used): where the committed-but-unused heap sits (new_space: the young generation's semi-spaces).
    const spaces = [...new Set([...Object.keys(b?.spaces ?? {}), ...Object.keys(a?.spaces ?? {})])];
    const cell = (h, n) => (h?.spaces?.[n] ? `${MB(h.spaces[n].resident)} (${MB(h.spaces[n].used)})` : '–');
    for (const n of spaces) if (t === 'main') rows.push([`${t}: ${n}, resident (used)`, cell(b, n), cell(a, n)]);
  }
  return ['| MB | idle before traffic | idle after |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const results = [];
for (let i = 0; i < runs; i++) {
  const r = await one(i);
  results.push(r);
  console.log(`run ${i + 1}: ${sensors} sensors × ${readings} readings fed in ${r.fedSeconds.toFixed(0)} s (daemon CPU ${r.cpuSeconds.toFixed(1)} s); flags ${JSON.stringify(nodeFlags)} env ${JSON.stringify(extraEnv)}; ${basename(root)}`);
  console.log(table(r));
  if (r.gcs.length > 0) {
    const mc = r.gcs.filter((g) => g.includes('Mark-Compact'));
    console.log(`GCs: ${r.gcs.length}, mark-compacts: ${mc.length}:\n${mc.map((g) => '    ' + g.replace(/^\[[^\]]*\]\s*/, '')).join('\n')}`);
  }
  if (r.late) {
    console.log(`RSS after idle (s: MB): ${r.trail.map((t) => `${t.s}: ${t.rss.toFixed(0)}`).join(', ')}`);
    console.log(table({ before: r.after, after: r.late }).replace('idle before traffic | idle after', `idle after | ${linger} s later`));
  }
}
if (runs > 1) {
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  console.log(`median VmRSS before ${med(results.map((r) => r.before.status.rss)).toFixed(1)} MB, after ${med(results.map((r) => r.after.status.rss)).toFixed(1)} MB (runs: ${results.map((r) => r.after.status.rss.toFixed(0)).join(', ')})`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ sensors, readings, nodeFlags, extraEnv, root, results }, null, 1));
