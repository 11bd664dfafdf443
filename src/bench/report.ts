/** The benchmark's results as one JSON document and as the markdown tables kept in BENCHMARKS.md. */
import type { TrainDayResult } from './train-day.js';
import type { MachineInfo } from './machine.js';
import type { BackpressureResult, LatencyResult, ThroughputResult } from './e2e.js';
import type { MemoryResult, StartupResult } from './process-bench.js';
import type { StageCost } from './stages.js';

export interface BenchResults {
  readonly command: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly machine: MachineInfo;
  readonly models: Readonly<Record<string, string>>;
  readonly settings: { readonly window: number; readonly hop: number; readonly hidden: number; readonly quick: boolean };
  readonly throughput: readonly ThroughputResult[];
  readonly latency: readonly LatencyResult[];
  readonly backpressure: readonly BackpressureResult[];
  readonly memory: MemoryResult | null;
  readonly startup: StartupResult | null;
  readonly stages: Readonly<Record<string, readonly StageCost[]>>;
  /** Training throughput (window 64, hidden 32, 1 and 8 channels) and a day of 1 Hz readings with default options. */
  readonly training?: readonly Readonly<Record<string, number>>[];
  readonly trainDay?: readonly TrainDayResult[];
  /** Runs that failed (the suite carries on without them). */
  readonly errors: readonly string[];
  readonly goals: readonly GoalResult[];
}

export interface GoalResult {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | null;
  readonly why: string;
}

const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(100 * x)} %` : 'n/a');

export function evaluateGoals(r: Omit<BenchResults, 'goals'>): GoalResult[] {
  const goals: GoalResult[] = [];
  for (const t of r.throughput.filter((x) => x.sensors === 100 && x.perMessage === 1 && x.qos === 0)) {
    goals.push({
      goal: `${t.cell.toUpperCase()}: 1 reading/message, 100 sensors, QoS 0: >= 90 % of the do-nothing subscriber`,
      measured: `${fmt(t.daemonRate)}/s = ${pct(t.ratio)} of ${fmt(t.baselineRate)}/s`,
      met: t.ratio >= 0.9,
      why: t.ratio >= 0.9 ? '' : `the daemon spends ${fmt(t.cpuUsPerReading, 1)} µs CPU per reading on one event loop; see the profile below`,
    });
  }
  for (const t of r.throughput.filter((x) => x.perMessage === 100)) {
    goals.push({
      goal: `${t.cell.toUpperCase()}: bursts of 100 readings/message, ${t.sensors} sensors: >= 500,000 readings/s`,
      measured: `${fmt(t.daemonRate)}/s (subscriber limit ${fmt(t.baselineRate)}/s)`,
      met: t.daemonRate >= 500_000,
      why: t.daemonRate >= 500_000 ? '' : `${fmt(t.cpuUsPerReading, 2)} µs CPU per reading: parse + window + 1/16 of a window's inference and scoring`,
    });
  }
  for (const l of r.latency) {
    goals.push({
      goal: `${l.cell.toUpperCase()}: p99 publish -> scored < 5 ms at ${fmt(l.rate)} readings/s`,
      measured: l.daemon ? `p99 ${fmt(l.daemon.p99, 2)} ms (subscriber p99 ${fmt(l.baseline?.p99 ?? NaN, 2)} ms)` : `not measured: ${l.note}`,
      met: l.daemon ? l.daemon.p99 < 5 : null,
      why: l.daemon && l.daemon.p99 >= 5 ? 'windows wait for the batch tick and queue behind other batches; alerts add the store group commit (see text)' : '',
    });
  }
  if (r.memory) {
    goals.push({
      goal: `resident memory with ${r.memory.sensors} sensors < 150 MB`,
      measured: `${fmt(r.memory.rssMb, 1)} MB (peak ${fmt(r.memory.peakMb, 1)} MB, idle before traffic ${fmt(r.memory.idleRssMb, 1)} MB; NODE_OPTIONS ${r.memory.nodeOptions})`,
      met: r.memory.peakMb < 150,
      why: r.memory.peakMb < 150 ? '' : 'idle ~130 MB (72 MB of it node and onnxruntime code mapped from files); after traffic the main thread\'s V8 heap is ~105 MB resident for ~50 MB live (old space ~1.5x live, young generation 16 MB), malloc ~45 MB (typed arrays\' stores, SQLite, threads\' arenas): BENCHMARKS.md, mem2 and mem1000',
    });
  }
  if (r.startup) {
    goals.push({
      goal: 'ready < 2 s (spawn to the ready log line)',
      measured: `${fmt(r.startup.spawnToReadyMs)} ms (daemon start() ${fmt(r.startup.startMs)} ms)`,
      met: r.startup.spawnToReadyMs < 2000,
      why: '',
    });
  }
  return goals;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`Command: \`${r.command}\` (${r.startedAt}, ${fmt(r.seconds)} s${r.settings.quick ? ', quick run' : ''})`);
  out.push('');
  out.push(
    `Machine: ${m.cpuModel}, nproc ${m.nproc}, ${fmt(m.memTotalMb)} MB, ${m.platform}/${m.arch} ${m.kernel}, load ${fmt(m.loadAvg1m, 2)} at start; ` +
      `node ${m.node}, onnxruntime-node ${m.onnxruntime}, mqtt.js ${m.mqttJs}, better-sqlite3 ${m.betterSqlite3}, mosquitto ${m.mosquitto ?? 'n/a'}, anomalyd ${m.anomalyd}. ` +
      `Window ${r.settings.window}, hop ${r.settings.hop}, hidden ${r.settings.hidden}; models: ${Object.entries(r.models).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
  );
  out.push('', '### Goals', '');
  out.push(table(['Goal', 'Measured', 'Met', 'Why not'], r.goals.map((g) => [g.goal, g.measured, g.met === null ? '?' : g.met ? 'yes' : '**NO**', g.why])));
  if (r.throughput.length > 0) {
    out.push('', '### End-to-end throughput (publish -> scored, mosquitto on loopback, JSON)', '');
    out.push(
      table(
        ['Cell', 'Sensors', 'Readings/msg', 'QoS', 'Readings', 'Daemon readings/s', 'Subscriber readings/s', 'Ratio', 'Publisher readings/s', 'CPU µs/reading', 'Windows scored/expected'],
        r.throughput.map((t) => [
          t.cell, String(t.sensors), String(t.perMessage), String(t.qos), fmt(t.readings), fmt(t.daemonRate), fmt(t.baselineRate), pct(t.ratio), fmt(t.publishRate), fmt(t.cpuUsPerReading, 2), `${t.windowsScored}/${t.windowsExpected}`,
        ]),
      ),
    );
  }
  if (r.latency.length > 0) {
    out.push('', '### Latency, publish of the window-completing reading -> window scored (ms)', '');
    const p = (x: { p50: number; p90: number; p99: number; max: number } | null): string[] => (x ? [fmt(x.p50, 2), fmt(x.p90, 2), fmt(x.p99, 2), fmt(x.max, 2)] : ['n/a', 'n/a', 'n/a', 'n/a']);
    out.push(
      table(
        ['Cell', 'Sensors', 'Readings/s', 'Windows', 'p50', 'p90', 'p99', 'max', 'Subscriber p50', 'p90', 'p99', 'max', 'p99 ratio'],
        r.latency.map((l) => [l.cell, String(l.sensors), fmt(l.rate), String(l.windows), ...p(l.daemon), ...p(l.baseline), l.daemon && l.baseline ? `${fmt(l.daemon.p99 / l.baseline.p99, 1)}x` : 'n/a']),
      ),
    );
  }
  if (r.backpressure.length > 0) {
    out.push('', '### Backpressure (QoS 1, offered at twice the sustainable rate)', '');
    out.push(
      table(
        ['Cell', 'Sensors', 'Offered/s', 'Accepted/s', 'Scored/s', 'RSS start -> max (MB)', 'Accepted, not scored, at end', 'Published, not accepted, at end', 'Drain after publish (s)'],
        r.backpressure.map((b) => [
          b.cell, String(b.sensors), fmt(b.offeredRate), fmt(b.acceptedRate), fmt(b.scoredRate), `${fmt(b.rssStartMb)} -> ${fmt(b.rssMaxMb)}`, fmt(b.lagAtEnd), fmt(b.heldOutside), fmt(b.drainSeconds, 1),
        ]),
      ),
    );
  }
  const stageRows = Object.entries(r.stages).flatMap(([cell, rows]) => rows.map((x) => ({ ...x, stage: `${cell}: ${x.stage}` })));
  if (stageRows.length > 0) {
    out.push('', '### Per-stage cost (each stage called directly)', '');
    out.push(
      table(
        ['Stage', 'µs per unit', 'Unit', 'µs per reading', 'n', 'Note'],
        stageRows.map((s) => [s.stage, fmt(s.usPerUnit, 2), s.unit, s.usPerReading === null ? '-' : fmt(s.usPerReading, 3), fmt(s.n), s.note]),
      ),
    );
  }
  if (r.memory || r.startup) {
    out.push('', '### Process', '');
    const rows: string[][] = [];
    if (r.memory) rows.push([`resident memory, ${r.memory.sensors} sensors x ${r.memory.readingsPerSensor} readings`, `${fmt(r.memory.rssMb, 1)} MB now, ${fmt(r.memory.peakMb, 1)} MB peak, ${fmt(r.memory.idleRssMb, 1)} MB before traffic`]);
    if (r.startup) rows.push([`start-up, spawn -> ready (median of ${r.startup.runs})`, `${fmt(r.startup.spawnToReadyMs)} ms (runs: ${r.startup.all.map((x) => fmt(x)).join(', ')}); daemon start() ${fmt(r.startup.startMs)} ms`]);
    out.push(table(['What', 'Measured'], rows));
  }
  if (r.training && r.training.length > 0) {
    out.push('', '### Training (on-device trainer, one core, in the bench process)', '');
    out.push(
      table(
        ['Cell', 'Channels', 'Window', 'Hidden', 'Training windows/s', 'Epoch (s)', 'Forward-only windows/s'],
        r.training.map((t) => [t.cellLstm ? 'lstm' : 'gru', fmt(t.channels), fmt(t.window), fmt(t.hidden), fmt(t.trainWindowsPerSec), fmt(t.epochMs / 1000, 2), fmt(t.forwardWindowsPerSec)]),
      ),
    );
  }
  if (r.trainDay && r.trainDay.length > 0) {
    out.push('', '### A day of 1 Hz readings (86,400 rows, one channel, default options; goal: under 60 s on one core)', '');
    out.push(
      table(
        ['Cell', 'Wall (s)', 'CPU (s)', 'Epochs', 's/epoch', 'Best epoch', 'Val loss', 'Goal met'],
        r.trainDay.map((d) => [d.cell, fmt(d.seconds, 1), fmt(d.cpuSeconds, 1), fmt(d.epochs), fmt(d.secondsPerEpoch, 2), fmt(d.bestEpoch), d.finalValLoss.toPrecision(3), d.seconds < 60 ? 'yes' : '**NO**']),
      ),
    );
  }
  if (r.errors.length > 0) {
    out.push('', '### Runs that failed', '');
    for (const e of r.errors) out.push(`- ${e}`);
  }
  return out.join('\n');
}

export const MD_BEGIN = '<!-- bench:performance:begin (generated by npm run bench -- --markdown BENCHMARKS.md) -->';
export const MD_END = '<!-- bench:performance:end -->';

/**
 * Replaces the generated block inside BENCHMARKS.md's '## Performance' section, leaving every other
 * section (and the hand-written notes around the block) alone. Creates what is missing.
 */
export function spliceMarkdown(doc: string, generated: string): string {
  const block = `${MD_BEGIN}\n${generated}\n${MD_END}`;
  const b = doc.indexOf(MD_BEGIN);
  const e = doc.indexOf(MD_END);
  if (b >= 0 && e > b) return doc.slice(0, b) + block + doc.slice(e + MD_END.length);
  const heading = /^## Performance[^\n]*\n/m.exec(doc);
  if (heading) {
    const at = heading.index + heading[0].length;
    return `${doc.slice(0, at)}\n${block}\n${doc.slice(at)}`;
  }
  const base = doc.trim() === '' ? '# Benchmarks\n' : doc.endsWith('\n') ? doc : `${doc}\n`;
  return `${base}\n## Performance\n\n${block}\n`;
}
