/**
 * Issue 9, parity: the same readings through the live path (the daemon in-process: the embedded MQTT broker,
 * the real onnxruntime in its inference worker, a real SQLite file, a stop and a start from the checkpoint in
 * the middle) and through replay (`runReplay`, the code behind `anomalyd replay`) give the same score for
 * every reading and the same episodes. Several sensors, bursts that put several hops of one sensor into one
 * model call, a gap that resets a stream, and a level shift that opens and resolves an episode.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/adapters/onnx-runner.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { AnomalyEvent, ScoredReading } from '../../src/contract/types.js';
import { Daemon, modelSidecarPath } from '../../src/daemon.js';
import type { ReplayRow } from '../../src/replay/drive.js';
import { runReplay } from '../../src/replay/run.js';
import { Simulator } from '../../src/sim/simulator.js';
import { waitFor } from '../helpers/net.js';
import { MODELS, builtAndModelsPresent } from '../helpers/daemon.js';

const ready = builtAndModelsPresent();
const T0 = Math.floor((Date.now() - 6 * 3_600_000) / 1000) * 1000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Msg {
  readonly topic: string;
  readonly payload: string;
  /** The readings it carries, as replay rows. */
  readonly rows: ReplayRow[];
  /** A message re-sent after newer ones were read: its readings are not taken (`redelivered`), on both paths. */
  readonly resent?: boolean;
}

/** Three sensors, 1 Hz: single readings and bursts of 40; pump2 falls silent for 5 minutes (a gap); pump1 shifts. */
function messages(): Msg[] {
  const n = 1500;
  const shiftAt = T0 + 1100 * 1000;
  const sim = new Simulator({
    seed: 5,
    startTs: T0,
    intervalMs: 1000,
    sensors: [
      { name: 'pump1', kind: 'vibration' },
      { name: 'pump2', kind: 'temperature' },
      { name: 'pump3', kind: 'vibration' },
    ],
    anomalies: [{ sensor: 'pump1', kind: 'level_shift', startTs: shiftAt, endTs: shiftAt + 100_000, magnitude: 6 }],
  });
  const ticks = Array.from({ length: n }, () => sim.next());
  const out: Msg[] = [];
  for (let i = 0; i < n; i++) {
    for (const m of ticks[i]) {
      const row: ReplayRow = { sensor: m.sensor, ts: m.ts, channels: ['value'], values: [m.value] };
      if (m.sensor === 'pump2' && i >= 600 && i < 900) continue; // the gap
      if (m.sensor === 'pump3') {
        // pump3 sends bursts of 40 readings (more than two hops of 16 in one message).
        if (i % 40 !== 39) continue;
        const burst = ticks.slice(i - 39, i + 1).map((t) => t.find((x) => x.sensor === 'pump3')!);
        out.push({
          topic: 'sensors/pump3',
          payload: JSON.stringify({ values: burst.map((b) => b.value), ts: burst[0].ts, interval_ms: 1000 }),
          rows: burst.map((b) => ({ sensor: 'pump3', ts: b.ts, channels: ['value'], values: [b.value] })),
        });
        continue;
      }
      out.push({ topic: `sensors/${m.sensor}`, payload: JSON.stringify({ ts: m.ts, value: m.value }), rows: [row] });
    }
  }
  return out;
}

function config(dir: string, cell: 'gru' | 'lstm'): Config {
  const loaded = loadConfig({
    env: {},
    overrides: {
      dataDir: join(dir, 'data'),
      broker: { port: 0 },
      http: { enabled: false },
      model: { dir: MODELS, cell },
      learning: { enabled: false },
      store: { checkpointIntervalMs: 3_600_000 },
      log: { level: 'silent' },
    },
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

interface Outcome {
  readonly scores: Map<string, { ts: number; surprise: number; status: string }[]>;
  readonly events: { sensor: string; kind: string; startTs: number; endTs: number; id: string }[];
}

function collect(o: Outcome): (r: ScoredReading, events: readonly AnomalyEvent[]) => void {
  return (r, events) => {
    const list = o.scores.get(r.stream) ?? [];
    list.push({ ts: r.ts, surprise: r.surprise, status: r.status });
    o.scores.set(r.stream, list);
    for (const e of events) o.events.push({ sensor: e.sensor, kind: e.kind, startTs: e.startTs, endTs: e.endTs, id: e.anomalyId });
  };
}

/** The live path: the daemon in-process; stopped and started again from its checkpoint at each of `cuts` (message indexes). */
async function live(msgs: readonly Msg[], cell: 'gru' | 'lstm', cuts: readonly number[]): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-parity-'));
  dirs.push(dir);
  const out: Outcome = { scores: new Map(), events: [] };
  const logger = pino({ level: 'silent' });
  const bounds = [0, ...cuts, msgs.length];
  for (const part of bounds.slice(1).map((end, k) => msgs.slice(bounds[k], end))) {
    const daemon = new Daemon({ config: config(dir, cell), logger, onReading: collect(out) });
    await daemon.start();
    try {
      const client = await mqtt.connectAsync(daemon.brokerUrl!, { clientId: `parity-${process.pid}-${Date.now()}` });
      for (const m of part) await client.publishAsync(m.topic, m.payload, { qos: 1 });
      await client.endAsync();
      const expected = part.reduce((k, m) => k + (m.resent === true ? 0 : m.rows.length), 0);
      const resent = part.reduce((k, m) => k + (m.resent === true ? m.rows.length : 0), 0);
      // Counters are the instance's own: this part's readings, each accepted, then each scored; the re-sent ones rejected.
      await waitFor(() => daemon.counters.scored >= expected && daemon.counters.rejected >= resent, 60_000, `${expected} readings scored`);
      expect(daemon.counters.readings).toBe(expected);
      expect(daemon.counters.rejected).toBe(resent);
    } finally {
      expect(await daemon.stop()).toBe(true);
    }
  }
  return out;
}

/** The replay path: the same readings, in the order the broker delivered them, through runReplay. */
async function replay(msgs: readonly Msg[], cell: 'gru' | 'lstm'): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-parity-replay-'));
  dirs.push(dir);
  const cfg = config(dir, cell);
  const rows = msgs.flatMap((m) => m.rows);
  const out: Outcome = { scores: new Map(), events: [] };
  const sink = collect(out);
  await runReplay(rows, { config: cfg, learnRows: 0, loadModel, shippedModel: modelSidecarPath(cfg), dir }, (o) => {
    // A row the parser rejected (a re-sent reading) is no reading, as live.
    if (o.rejected !== null) return;
    sink(
      { stream: o.row.sensor, ts: o.row.ts, channels: o.row.channels, values: o.row.values, expected: o.expected, spread: null, score: o.score, surprise: o.surprise, threshold: 0, status: o.status, anomalyId: null, modelId: null },
      [],
    );
  });
  return out;
}

describe.skipIf(!ready)('parity of the live path and replay', () => {
  it.each(['gru', 'lstm'] as const)('gives every reading the same score and the same episodes (%s)', async (cell) => {
    // Two restarts: one while pump2 is silent (its gap), one 10 s into pump1's episode, where pump1's last
    // reading before the stop comes again right after the start (an MQTT redelivery: a duplicate).
    // pump2 sends, twice, a second reading with the time of the one before and another value (a hub that stamps on
    // arrival read both in one go): a reading of its own on both paths; the third restart comes right before the
    // second of them.
    const plain = messages();
    const sharing = (m: Msg): Msg => {
      const row = { ...m.rows[0], values: [m.rows[0].values[0] + 1.5] };
      return { topic: m.topic, payload: JSON.stringify({ ts: row.ts, value: row.values[0] }), rows: [row] };
    };
    const pump2 = (ts: number): number => plain.findIndex((m) => m.topic === 'sensors/pump2' && m.rows[0].ts === ts);
    const s1 = pump2(T0 + 400 * 1000);
    const s2 = pump2(T0 + 1300 * 1000);
    const k = plain.findIndex((m) => m.topic === 'sensors/pump1' && m.rows[0].ts === T0 + 1110 * 1000);
    expect(Math.min(s1, s2 - s1, k - s1, s2 - k)).toBeGreaterThan(0);
    const shared = [...plain.slice(0, s1 + 1), sharing(plain[s1]), ...plain.slice(s1 + 1, k + 1), plain[k], ...plain.slice(k + 1, s2 + 1), sharing(plain[s2]), ...plain.slice(s2 + 1)];
    // The first restart comes right before pump1's two messages before its last are re-sent (a QoS 1 redelivery of
    // messages read, their PUBACKs lost): the restarted daemon knows their times were read (its checkpoint), replay
    // does too, and neither judges them again.
    const c = Math.floor(shared.length * 0.55);
    const p1 = shared.slice(0, c).map((m, i) => (m.topic === 'sensors/pump1' ? i : -1)).filter((i) => i >= 0);
    const again = p1.slice(-3, -1).map((i): Msg => ({ ...shared[i], resent: true }));
    const msgs = [...shared.slice(0, c), ...again, ...shared.slice(c)];
    const k2 = msgs.findIndex((m, i) => i > 0 && m.topic === 'sensors/pump1' && m.rows[0].ts === T0 + 1110 * 1000 && msgs[i - 1] === m);
    const j = msgs.findIndex((m) => m.topic === 'sensors/pump2' && m.rows[0].ts === T0 + 1300 * 1000) + 1;
    const a = await live(msgs, cell, [c, k2, j]);
    const b = await replay(msgs, cell);
    // Each re-sent reading reported once, at its own time, on both paths.
    for (const o of [a, b]) for (const m of again) expect(o.scores.get('pump1')!.filter((x) => x.ts === m.rows[0].ts)).toHaveLength(1);
    expect([...a.scores.keys()].sort()).toEqual(['pump1', 'pump2', 'pump3']);
    for (const [stream, list] of b.scores) {
      const got = a.scores.get(stream)!;
      expect(got.map((x) => x.ts)).toEqual(list.map((x) => x.ts));
      // onnxruntime batches differently live and in replay: the same steps, float32 sums in another order.
      const bad = list.findIndex((x, i) => !(Math.abs(x.surprise - got[i].surprise) <= 5e-4));
      expect(bad, `${stream}: first reading whose surprise differs`).toBe(-1);
      expect(got.map((x) => x.status)).toEqual(list.map((x) => x.status));
    }
    // The same statuses reading by reading are the same episodes. The shift on pump1 is one of them, opened
    // before the second restart and resolved after it, one episode through the restart's checkpoint.
    const shift = a.events.filter((e) => e.sensor === 'pump1' && e.startTs >= T0 + 1100 * 1000);
    expect(shift.map((e) => e.kind)).toContain('open');
    expect(shift.map((e) => e.kind)).toContain('resolve');
    expect(shift.find((e) => e.kind === 'open')!.startTs).toBeLessThan(T0 + 1110 * 1000);
    expect(shift.find((e) => e.kind === 'resolve')!.endTs).toBeGreaterThan(T0 + 1110 * 1000);
    expect(new Set(shift.map((e) => e.id)).size).toBe(1);
    // The redelivered reading reports the episode, as the reading it repeats did.
    const dup = a.scores.get('pump1')!.filter((x) => x.ts === T0 + 1110 * 1000);
    expect(dup.map((x) => x.status)).toEqual(['anomalous', 'anomalous']);
    expect(b.scores.get('pump1')!.some((x) => x.status === 'anomalous')).toBe(true);
    // Each reading sharing pump2's time is scored as a reading of its own, not as the one before it (a duplicate).
    for (const ts of [T0 + 400 * 1000, T0 + 1300 * 1000]) {
      const both = a.scores.get('pump2')!.filter((x) => x.ts === ts);
      expect(both).toHaveLength(2);
      expect(both[1].surprise).not.toBe(both[0].surprise);
    }
  }, 240_000);
});
