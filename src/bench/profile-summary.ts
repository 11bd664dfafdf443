/**
 * Where the time goes in a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per
 * area (our stages, rxjs, mqtt.js, onnxruntime, SQLite, GC, idle).
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Busy = total minus (idle) and (program) bookkeeping. */
  readonly busyMs: number;
  readonly functions: readonly SelfTime[];
  readonly areas: readonly SelfTime[];
}

/** Coarse owner of a frame, by where its code lives. */
export function areaOf(url: string, functionName: string): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)' || functionName === '(root)') return 'V8/native (program)';
  const pick: [RegExp, string][] = [
    [/\/src\/bench\/|\/dist\/bench\//, 'bench harness'],
    [/node_modules\/rxjs\//, 'rxjs'],
    [/node_modules\/(mqtt|mqtt-packet|bl|readable-stream|commist|number-allocator)\//, 'mqtt.js'],
    [/node_modules\/onnxruntime/, 'onnxruntime'],
    [/node_modules\/better-sqlite3/, 'better-sqlite3'],
    [/node_modules\/pino/, 'pino'],
    [/\/(src|dist)\/pipeline\/parse/, 'parse'],
    [/\/(src|dist)\/pipeline\/window/, 'window'],
    [/\/(src|dist)\/pipeline\/infer/, 'infer'],
    [/\/(src|dist)\/pipeline\/(score|calibrate|lifecycle)/, 'score'],
    [/\/(src|dist)\/pipeline\/topic/, 'topic'],
    [/\/(src|dist)\/adapters\/mqtt/, 'mqtt adapter'],
    [/\/(src|dist)\/adapters\/onnx/, 'onnx adapter'],
    [/\/(src|dist)\/adapters\/(sqlite|outbox)/, 'store/outbox'],
    [/\/(src|dist)\/daemon/, 'daemon'],
    [/^node:|^internal\//, 'node core'],
  ];
  for (const [re, name] of pick) if (re.test(url)) return name;
  return url === '' ? `native (${functionName || 'anonymous'})` : 'other';
}

function shortUrl(url: string): string {
  const i = url.search(/\/(src|dist|node_modules)\//);
  return i >= 0 ? url.slice(i + 1) : url;
}

export function summariseProfile(p: CpuProfile, top = 20): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]);
    const us = p.timeDeltas[i] ?? 0;
    if (!node || us < 0) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') {
      // Not work of ours: kept out of the rankings, whose shares are of busy time.
      idle += us;
      continue;
    }
    const key = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    const a = areaOf(url, functionName);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>, n: number): SelfTime[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return { totalMs: total / 1000, busyMs: busy / 1000, functions: rank(fn, top), areas: rank(area, 100) };
}

export function renderSummary(s: ProfileSummary): string {
  const lines = [`total ${s.totalMs.toFixed(0)} ms sampled, ${s.busyMs.toFixed(0)} ms busy (shares are of busy time)`, '', 'By area:'];
  for (const a of s.areas) lines.push(`  ${(100 * a.share).toFixed(1).padStart(5)} %  ${a.ms.toFixed(0).padStart(7)} ms  ${a.name}`);
  lines.push('', 'Top functions (self time):');
  for (const f of s.functions) lines.push(`  ${(100 * f.share).toFixed(1).padStart(5)} %  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/profile-summary.js FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${renderSummary(summariseProfile(profile, Number(process.argv[3] ?? 25)))}\n`);
}
