#!/usr/bin/env node
// What one periodic checkpoint and one eviction of N young one-reading sensors (the hostile-input test's flood,
// test/e2e/hostile.test.ts) cost in memory and time, in ROOT's code: N sensors `sensors/junk-<i>-…` with one
// reading each through ROOT's Detector (the shipped config, no model) and SignalBook, then ROOT's Checkpoints
// with a real SQLite store: `save` (one periodic save of all of them), `save2` (a second, unchanged), `evict`
// (saveEvicted of each, as the idle sweep does). Prints process.memoryUsage() after each phase and VmHWM.
//   node --max-old-space-size=192 scripts/checkpoint-flood.mjs ROOT N [save,save2,evict]
//   HEAPPROF=1 [NOMINOR=1] …: V8's sampling heap profile of the phases, by allocation site (NOMINOR=1: only what
//   survived scavenges, i.e. what was promoted to old space or is still live; PARENTS=<prefix>: a site's callers).
//   --trace-gc: the scavenges and mark-compacts of the phases. Used for BENCHMARKS.md, branch `ckptmem`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Subject } from 'rxjs';
const [root, nArg, mode = 'save'] = process.argv.slice(2);
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { defaultConfig } = await import(at('dist/config/schema.js'));
const { Detector, detectorOptions } = await import(at('dist/pipeline/detector.js'));
const { MessageParser } = await import(at('dist/pipeline/parse.js'));
const { parseOptionsOf } = await import(at('dist/pipeline/ingest-options.js'));
const { SignalBook } = await import(at('dist/daemon/signals.js'));
const { SqliteStore } = await import(at('dist/adapters/sqlite-store.js'));
const { Checkpoints, detectorCheckpointSubject } = await import(at('dist/daemon/checkpoints.js'));
const { pino } = await import('pino');
const N = Number(nArg);
const cfg = defaultConfig();
let ids = 0;
const det = new Detector(detectorOptions(cfg), { parser: new MessageParser(parseOptionsOf(cfg)), modelFor: () => null, priorsFor: () => null, newId: () => `x-${++ids}` });
const log = pino({ level: 'silent' });
const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: log });
const input = new Subject();
const done = new Promise((res, rej) => input.pipe(det.operator()).subscribe({ next: (o) => { if (o.type === 'reading') book.record(o.reading); }, error: rej, complete: res }));
const T0 = Date.now();
for (let i = 0; i < N; i++) input.next({ topic: `sensors/junk-${i}-${(i * 7919) % 1e9}`, payload: Buffer.from((i % 1000 / 10).toFixed(3)), receivedAt: T0 });
input.complete();
await done;
const dir = mkdtempSync(join(tmpdir(), 'ckm-'));
const store = SqliteStore.open(join(dir, 'a.db'), { commitIntervalMs: 0, outboxMax: 100, logger: log });
const cps = new Checkpoints(store, detectorCheckpointSubject(det, () => 'open', book), { intervalMs: 60_000, maxAgeMs: 3_600_000, now: () => Date.now(), logger: log });
const mb = (x) => (x / 1048576).toFixed(1);
const mem = (what) => { const m = process.memoryUsage(); console.log(`${what}: rss ${mb(m.rss)} heapUsed ${mb(m.heapUsed)} heapTotal ${mb(m.heapTotal)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`); };
const one = [...det.streams()][0];
console.log('streams', [...det.streams()].length);
console.log('one sensor snapshot JSON bytes', JSON.stringify(detectorCheckpointSubject(det, () => 'open', book).snapshot(one)).length);
global.gc?.(); mem('fed');
const { Session } = await import('node:inspector/promises');
const session = new Session();
if (process.env.HEAPPROF) { session.connect(); await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !process.env.NOMINOR }); }
let t = process.hrtime.bigint();
if (mode.includes('save')) { cps.save(); console.log('save ms', Number(process.hrtime.bigint() - t) / 1e6); mem('after save'); global.gc?.(); mem('after save+gc'); }
if (mode.includes('save2')) { t = process.hrtime.bigint(); cps.save(); console.log('save2 ms', Number(process.hrtime.bigint() - t) / 1e6); mem('after save2'); global.gc?.(); mem('after save2+gc'); }
if (mode.includes('evict')) { t = process.hrtime.bigint(); for (const s of [...det.streams()]) { cps.saveEvicted(s); det.forget?.(s); } console.log('evict ms', Number(process.hrtime.bigint() - t) / 1e6); mem('after evict'); global.gc?.(); mem('after evict+gc'); }
if (process.env.HEAPPROF) {
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const self = new Map();
  const walkP = (n, stack) => {
    const f = n.callFrame; const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
    const sz = n.selfSize; const kk = process.env.PARENTS && k.startsWith(process.env.PARENTS) ? `${k} <- ${stack.slice(-3).join(' <- ')}` : k; if (sz > 0) self.set(kk, (self.get(kk) ?? 0) + sz);
    for (const c of n.children) walkP(c, [...stack, `${f.functionName || '(anon)'}:${f.url.split('/').pop()}:${f.lineNumber}`]);
  };
  walkP(profile.head, []);
  let tot = 0; for (const v of self.values()) tot += v;
  console.log('sampled allocations MB', (tot / 1048576).toFixed(1));
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((v / 1048576).toFixed(2).padStart(8), k);
}
console.log('VmHWM MB', (Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024).toFixed(1));
store.close();
rmSync(dir, { recursive: true, force: true });
