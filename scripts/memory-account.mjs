#!/usr/bin/env node
/**
 * What the daemon's per-stream state is made of: runs the daemon as its own process (as the benchmark's memory
 * run does: `dist/main.js run`, the shipped GRU, window 64, hop 16, a throwaway mosquitto), feeds it `--sensors`
 * one-channel sensors × `--readings` readings from the benchmark's publisher, waits until it is idle, writes a
 * heap snapshot of it (`--heapsnapshot-signal`, which collects garbage first) and accounts the snapshot: the
 * retained size (bytes that would be freed with the object: its dominator subtree, typed arrays' backing stores
 * included) of each per-stream class, broken down by field, and of each per-stream Map of the daemon.
 *
 *   npm run build && node --max-old-space-size=8000 scripts/memory-account.mjs [--sensors 1000] [--readings 320]
 *     [--root DIR (a worktree; default this one)] [--keep FILE (keep the snapshot)] [--json FILE]
 *
 * Dominators: Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm" (2001), weak edges left out (as
 * Chrome DevTools' retained sizes). Output: a Markdown table per class on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const root = resolve(opt('root', fileURLToPath(new URL('..', import.meta.url))));
const sensors = Number(opt('sensors', '1000'));
const readings = Number(opt('readings', '320'));
const keep = opt('keep', null);
const jsonOut = opt('json', null);
const fromSnapshot = opt('snapshot', null);

const dist = (p) => import(join(root, 'dist', p));

/** Per-stream classes to break down by field (constructor names as the snapshot has them). */
const CLASSES = ['StreamScore', 'StreamState', 'Cadence', 'TailCalibrator', 'ValueHistogram', 'CycleProfile', 'Boxcar', 'Ring', 'Bucket'];
/** Owners whose Maps hold per-stream entries. */
const OWNERS = ['Daemon', 'Detector', 'StreamScorer', 'StepEngine', 'SeriesStore', 'SignalBook', 'SensorStatusBoard', 'IdleEviction', 'Admission', 'OutOfOrderRuns', 'HaDiscovery', 'Learner', 'ModelRegistry', 'Checkpoints'];

async function measure() {
  const { BenchBroker, waitFor } = await dist('bench/broker.js');
  const { MqttChild } = await dist('bench/children.js');
  const { benchModels } = await dist('bench/models.js');
  const { syntheticT0 } = await dist('bench/e2e.js');
  const { stringify } = await import(join(root, 'node_modules/yaml/dist/index.js'));
  const models = await benchModels({ window: 64, hidden: 32 });
  const broker = new BenchBroker();
  await broker.start();
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-memacct-'));
  const config = {
    version: 1,
    dataDir: join(dir, 'data'),
    log: { level: 'warn' },
    broker: { enabled: false },
    mqtt: { url: broker.url, qos: 0, clean: true, clientId: `anomalyd-memacct-${process.pid}` },
    model: { dir: models.dir, cell: 'gru', normWarmup: 1 },
    window: { length: 64, hop: 16, intervalMs: 1000 },
    http: { port: 0 },
  };
  writeFileSync(join(dir, 'config.yaml'), stringify(config));
  const flags = args.includes('--trace-gc') ? ['--trace-gc'] : [];
  const proc = spawn(process.execPath, [...flags, '--heapsnapshot-signal=SIGUSR2', join(root, 'dist/main.js'), 'run', '--config', join(dir, 'config.yaml')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ANOMALYD_CONFIG: '' },
  });
  const status = () => {
    const s = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN) / 1024;
    return { rssMb: kb('VmRSS'), peakMb: kb('VmHWM') };
  };
  const ticks = () => {
    const st = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const idle = async (ms) => {
    let last = ticks();
    let since = Date.now();
    await waitFor(() => {
      const now = ticks();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= ms;
    }, 600_000, 'idle', 50);
  };
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (c) => (out += c));
  let publisher = null;
  try {
    // Ready: the daemon's HTTP and MQTT are up once it has been idle a second after start.
    await new Promise((r) => setTimeout(r, 1500));
    await idle(1000);
    const before = status();
    publisher = await MqttChild.start({ role: 'publisher', url: broker.url, clientId: `memacct-pub-${process.pid}` });
    const t0 = Date.now();
    await publisher.publish({ sensors, firstIndex: 0, readingsPerSensor: readings, perMessage: 1, rate: 0, qos: 0, t0: syntheticT0(), hop: 16 }, 1_800_000);
    await idle(1000);
    const after = status();
    const fedSeconds = (Date.now() - t0) / 1000;
    const smaps = readFileSync(`/proc/${proc.pid}/smaps_rollup`, 'utf8');
    const rollup = Object.fromEntries([...smaps.matchAll(/^(\w+):\s+(\d+) kB/gm)].map((m) => [m[1], Number(m[2]) / 1024]));
    if (flags.length > 0) {
      // --trace-gc lines: "[pid:addr] N ms: Scavenge|Mark-Compact A (B) -> C (D) MB, ...": the heap's used (committed) sizes.
      const gcs = [...out.matchAll(/(Scavenge|Mark-Compact)[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/g)].map((m) => ({ kind: m[1], before: Number(m[2]), beforeCommitted: Number(m[3]), after: Number(m[4]), committed: Number(m[5]) }));
      const mc = gcs.filter((g) => g.kind === 'Mark-Compact');
      console.log(`GCs: ${gcs.length} (${mc.length} mark-compact); largest used before a GC ${Math.max(...gcs.map((g) => g.before)).toFixed(1)} MB, largest committed ${Math.max(...gcs.map((g) => g.committed)).toFixed(1)} MB; live after each mark-compact (MB): ${mc.map((g) => g.after.toFixed(0)).join(' ')}`);
    }
    console.log(`smaps_rollup (MB): Rss ${rollup.Rss?.toFixed(1)}, Anonymous ${rollup.Anonymous?.toFixed(1)}, Private_Dirty ${rollup.Private_Dirty?.toFixed(1)}`);
    proc.kill('SIGUSR2');
    let file = null;
    let size = -1;
    await waitFor(() => {
      const f = readdirSync(dir).find((n) => n.endsWith('.heapsnapshot'));
      if (!f) return false;
      const s = statSync(join(dir, f)).size;
      if (s > 0 && s === size) {
        file = join(dir, f);
        return true;
      }
      size = s;
      return false;
    }, 600_000, 'heap snapshot', 1000);
    await idle(1000);
    const snap = join(tmpdir(), `memacct-${process.pid}.heapsnapshot`);
    copyFileSync(file, snap);
    return { before, after, fedSeconds, snap };
  } finally {
    await publisher?.stop();
    if (proc.exitCode === null) {
      await new Promise((r) => {
        proc.once('exit', r);
        proc.kill('SIGTERM');
      });
    }
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses a V8 heap snapshot and computes every node's retained size. */
function analyse(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const meta = snap.snapshot.meta;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const nTypes = meta.node_types[0];
  const eTypes = meta.edge_types[0];
  const nodes = snap.nodes;
  const edges = snap.edges;
  const strings = snap.strings;
  const N = nodes.length / NF;
  const iType = meta.node_fields.indexOf('type');
  const iName = meta.node_fields.indexOf('name');
  const iSelf = meta.node_fields.indexOf('self_size');
  const iCount = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const WEAK = eTypes.indexOf('weak');
  const SHORTCUT = eTypes.indexOf('shortcut');
  const firstEdge = new Uint32Array(N + 1);
  for (let n = 0; n < N; n++) firstEdge[n + 1] = firstEdge[n] + nodes[n * NF + iCount] * EF;
  const selfSize = new Float64Array(N);
  for (let n = 0; n < N; n++) selfSize[n] = nodes[n * NF + iSelf];
  const usable = (e) => edges[e + eType] !== WEAK && edges[e + eType] !== SHORTCUT;
  // Postorder by iterative DFS from node 0.
  const order = new Int32Array(N).fill(-1);
  const post = new Int32Array(N);
  let count = 0;
  const stackNode = new Int32Array(N);
  const stackEdge = new Uint32Array(N);
  const visited = new Uint8Array(N);
  let sp = 0;
  stackNode[0] = 0;
  stackEdge[0] = firstEdge[0];
  visited[0] = 1;
  sp = 1;
  while (sp > 0) {
    const n = stackNode[sp - 1];
    let e = stackEdge[sp - 1];
    let pushed = false;
    for (; e < firstEdge[n + 1]; e += EF) {
      if (!usable(e)) continue;
      const to = edges[e + eTo] / NF;
      if (visited[to]) continue;
      visited[to] = 1;
      stackEdge[sp - 1] = e + EF;
      stackNode[sp] = to;
      stackEdge[sp] = firstEdge[to];
      sp++;
      pushed = true;
      break;
    }
    if (!pushed) {
      order[n] = count;
      post[count++] = n;
      sp--;
    }
  }
  // Predecessors (reachable only).
  const predCount = new Uint32Array(N + 1);
  for (let n = 0; n < N; n++) {
    if (order[n] < 0) continue;
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += EF) if (usable(e)) predCount[edges[e + eTo] / NF + 1]++;
  }
  for (let n = 0; n < N; n++) predCount[n + 1] += predCount[n];
  const preds = new Int32Array(predCount[N]);
  const fill = predCount.slice();
  for (let n = 0; n < N; n++) {
    if (order[n] < 0) continue;
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += EF) if (usable(e)) preds[fill[edges[e + eTo] / NF]++] = n;
  }
  const idom = new Int32Array(N).fill(-1);
  idom[0] = 0;
  const intersect = (a, b) => {
    while (a !== b) {
      while (order[a] < order[b]) a = idom[a];
      while (order[b] < order[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = count - 1; i >= 0; i--) {
      const n = post[i];
      if (n === 0) continue;
      let d = -1;
      for (let p = predCount[n]; p < predCount[n + 1]; p++) {
        const q = preds[p];
        if (idom[q] < 0) continue;
        d = d < 0 ? q : intersect(q, d);
      }
      if (d !== idom[n]) {
        idom[n] = d;
        changed = true;
      }
    }
  }
  const retained = Float64Array.from(selfSize);
  for (let i = 0; i < count; i++) {
    const n = post[i];
    if (n !== 0 && idom[n] >= 0) retained[idom[n]] += retained[n];
  }
  const nameOf = (n) => strings[nodes[n * NF + iName]];
  const typeOf = (n) => nTypes[nodes[n * NF + iType]];
  const edgeName = (e) => (eTypes[edges[e + eType]] === 'element' || eTypes[edges[e + eType]] === 'hidden' ? `[${edges[e + eName]}]` : strings[edges[e + eName]]);
  let total = 0;
  for (let n = 0; n < N; n++) if (order[n] >= 0) total += selfSize[n];
  return { N, NF, EF, nodes, edges, strings, firstEdge, idom, retained, selfSize, order, nameOf, typeOf, edgeName, eTo, total, usable };
}

function report(h) {
  const lines = [];
  const result = { totalBytes: h.total, classes: {}, owners: {} };
  lines.push(`Heap (reachable, after GC): ${(h.total / 1e6).toFixed(1)} MB in ${h.N.toLocaleString()} nodes`);
  const byClass = new Map();
  for (let n = 0; n < h.N; n++) {
    if (h.order[n] < 0 || h.typeOf(n) !== 'object') continue;
    const name = h.nameOf(n);
    if (!CLASSES.includes(name) && !OWNERS.includes(name)) continue;
    let list = byClass.get(name);
    if (!list) byClass.set(name, (list = []));
    list.push(n);
  }
  for (const name of [...OWNERS, ...CLASSES]) {
    const list = byClass.get(name);
    if (!list) continue;
    let ret = 0;
    let self = 0;
    const fields = new Map();
    for (const n of list) {
      ret += h.retained[n];
      self += h.selfSize[n];
      for (let e = h.firstEdge[n]; e < h.firstEdge[n + 1]; e += h.EF) {
        if (!h.usable(e)) continue;
        const to = h.edges[e + h.eTo] / h.NF;
        if (h.idom[to] !== n) continue;
        const f = h.edgeName(e);
        if (f === 'map' || f === '__proto__') continue;
        const r = fields.get(f) ?? { bytes: 0, objects: 0 };
        r.bytes += h.retained[to];
        r.objects++;
        fields.set(f, r);
      }
    }
    const entry = { count: list.length, retained: ret, self, fields: Object.fromEntries(fields) };
    (OWNERS.includes(name) ? result.owners : result.classes)[name] = entry;
    lines.push('');
    lines.push(`### ${name}: ${list.length} objects, retained ${(ret / 1e6).toFixed(2)} MB (${(ret / list.length).toFixed(0)} B each), own ${(self / list.length).toFixed(0)} B each`);
    lines.push('');
    lines.push('| field | bytes each | share |');
    lines.push('|---|---|---|');
    for (const [f, r] of [...fields.entries()].sort((a, b) => b[1].bytes - a[1].bytes)) {
      if (r.bytes / list.length < 8 && fields.size > 12) continue;
      lines.push(`| ${f} | ${(r.bytes / list.length).toFixed(0)} | ${((100 * r.bytes) / ret).toFixed(1)} % |`);
    }
  }
  return { text: lines.join('\n'), result };
}

let measured = null;
let snapPath = fromSnapshot;
if (!snapPath) {
  measured = await measure();
  snapPath = measured.snap;
}
const h = analyse(snapPath);
const { text, result } = report(h);
if (measured) {
  console.log(`${sensors} sensors × ${readings} readings (fed in ${measured.fedSeconds.toFixed(0)} s): RSS before traffic ${measured.before.rssMb.toFixed(1)} MB, after ${measured.after.rssMb.toFixed(1)} MB (peak ${measured.after.peakMb.toFixed(1)} MB)`);
}
console.log(text);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ sensors, readings, measured, ...result }, null, 1));
if (measured) {
  if (keep) copyFileSync(snapPath, keep);
  rmSync(snapPath, { force: true });
}
