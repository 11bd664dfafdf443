import { describe, expect, it } from 'vitest';
import { evaluateGoals, MD_BEGIN, MD_END, renderMarkdown, spliceMarkdown, type BenchResults } from '../../src/bench/report.js';
import type { ThroughputResult } from '../../src/bench/e2e.js';

function tp(over: Partial<ThroughputResult>): ThroughputResult {
  return {
    cell: 'gru', sensors: 100, perMessage: 1, qos: 0, readings: 1000, messages: 1000, publishRate: 1e5, daemonRate: 5e4, baselineRate: 1e5, ratio: 0.5,
    windowsScored: 62, windowsExpected: 62, baselineMessages: 1000, rejected: 0, events: 0, cpuUsPerReading: 9, daemonStartMs: 100, ...over,
  };
}

function results(throughput: ThroughputResult[]): Omit<BenchResults, 'goals'> {
  return {
    command: 'npm run bench', startedAt: '2026-01-01T00:00:00.000Z', seconds: 1,
    machine: { hostname: 'h', platform: 'linux', arch: 'x64', kernel: 'k', nproc: 2, cpuModel: 'cpu', memTotalMb: 1, loadAvg1m: 0, node: 'v20', onnxruntime: '1.30.0', mqttJs: '5', betterSqlite3: '12', mosquitto: '2', anomalyd: '0.1.0' },
    models: { gru: 'shipped' }, settings: { window: 64, hop: 16, hidden: 32, quick: true },
    throughput, latency: [], backpressure: [], memory: null, startup: null, stages: {}, errors: [],
  };
}

describe('bench report', () => {
  it('marks a goal missed below 90 % of the subscriber and met above it', () => {
    const goals = evaluateGoals(results([tp({ ratio: 0.5 }), tp({ cell: 'lstm', ratio: 0.95 })]));
    expect(goals.map((g) => g.met)).toEqual([false, true]);
    expect(goals[0].why).not.toBe('');
  });

  it('judges bursts against 500,000 readings/s', () => {
    const goals = evaluateGoals(results([tp({ perMessage: 100, daemonRate: 499_999 }), tp({ perMessage: 100, daemonRate: 500_001 })]));
    expect(goals.map((g) => g.met)).toEqual([false, true]);
  });

  it('renders the machine and a NO for a missed goal', () => {
    const r = results([tp({})]);
    const md = renderMarkdown({ ...r, goals: evaluateGoals(r) });
    expect(md).toContain('nproc 2');
    expect(md).toContain('onnxruntime-node 1.30.0');
    expect(md).toContain('**NO**');
  });

  it('replaces only its own block and leaves other sections alone', () => {
    const doc = `# Benchmarks\n\n## Performance\n\nnotes before\n\n${MD_BEGIN}\nold\n${MD_END}\n\nnotes after\n\n## Evaluation\n\nF1 table\n`;
    const out = spliceMarkdown(doc, 'new table');
    expect(out).toContain('new table');
    expect(out).not.toContain('\nold\n');
    expect(out).toContain('notes before');
    expect(out).toContain('notes after');
    expect(out).toContain('## Evaluation\n\nF1 table');
    expect(spliceMarkdown(out, 'newer')).toBe(out.replace('new table', 'newer'));
  });

  it('adds a Performance section when the file has none', () => {
    const out = spliceMarkdown('# Benchmarks\n\n## Evaluation\n\nx\n', 't');
    expect(out.indexOf('## Evaluation')).toBeLessThan(out.indexOf('## Performance'));
    expect(out).toContain(`${MD_BEGIN}\nt\n${MD_END}`);
  });
});
