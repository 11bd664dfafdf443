/**
 * The detector core end to end in-process: parse -> cadence -> model steps (a TypeScript model with seeded
 * random weights, the reference of the ONNX graphs) -> score. What it must guarantee whatever the weights:
 * results that do not depend on batching, a decode exactly every hop steps, one bad model call touching only
 * its streams, and a checkpoint that continues bit for bit.
 */
import { Subject } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { DecodeBatchInput, DecodeBatchOutput, StepBatchInput, StepBatchOutput, StepModel } from '../../src/contract/ports.js';
import type { RawMessage } from '../../src/contract/types.js';
import type { CellKind, ModelSidecar } from '../../src/model/spec.js';
import { TsStepModel } from '../../src/train/ts-step-model.js';
import { Detector, type DetectorOptions, type DetectorOutput } from '../../src/pipeline/detector.js';
import { decodeKept, encodeKept, keptReadings } from '../../src/pipeline/kept.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { mulberry32 } from '../../src/train/rng.js';
import { initParams, toSeq2SeqParams } from '../../src/train/seq2seq.js';

const T0 = Date.UTC(2026, 10, 30);

function randomModel(cell: CellKind, id: string, window = 16, hidden = 6): TsStepModel {
  const params = toSeq2SeqParams(initParams({ cell, channels: 1, hidden }, mulberry32(cell === 'gru' ? 11 : 12)));
  const prior = { logErrMean: -1, logErrStd: 1, quantiles: {}, count: 100 };
  const sidecar = {
    format: 'anomalyd-model',
    formatVersion: 2,
    name: id,
    cell,
    hidden,
    channels: ['value'],
    window,
    hop: 4,
    normalisation: { mean: [0], std: [1] },
    calibration: { recon: prior, pred: prior, threshold: 0.999 },
  } as unknown as ModelSidecar;
  return new TsStepModel(sidecar, params, id);
}

const OPTIONS: DetectorOptions = {
  cadence: { intervalMs: 0, resetAfter: 8 },
  engine: { hop: 4, length: 16, maxBatch: 64, normWarmup: 8, normHorizon: 1000, batchTickMs: 0 },
  scorer: {
    mode: 'both',
    threshold: 0.9999,
    holdMargin: 1,
    openAfter: 1,
    closeAfter: 8,
    newNormalAfter: 200,
    learnReadings: 32,
    horizon: 2000,
    adaptiveHorizon: 200,
    smooth: 8,
    reconEvery: 4,
  },
};

function detector(modelFor: (stream: string) => StepModel | null, onModelError?: () => void, parser?: MessageParser): Detector {
  let ids = 0;
  return new Detector(OPTIONS, {
    parser: parser ?? newParser(),
    modelFor: (s) => {
      const m = modelFor(s);
      return m === null ? null : { model: m, own: false };
    },
    priorsFor: () => null,
    newId: () => `e${++ids}`,
    ...(onModelError ? { onModelError } : {}),
  });
}

function newParser(): MessageParser {
  return new MessageParser({ sensorOf: (t) => t, maxPayloadBytes: 65536, maxFutureMs: 1e12, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10_000, longBurst: 'split', window: 16 });
}

/** Three streams: a sine, a noisy walk with a level shift, and one with a gap, duplicates and a burst. */
function messages(): RawMessage[] {
  const out: RawMessage[] = [];
  let seq = 0;
  const walk = mulberry32(5);
  let w = 0;
  for (let i = 0; i < 400; i++) {
    const ts = T0 + i * 1000;
    out.push({ topic: 'sine', payload: Buffer.from(`{"ts":${ts},"value":${Math.sin(i / 9).toFixed(4)}}`), receivedAt: ts, seq: seq++ });
    w += walk() - 0.5;
    out.push({ topic: 'walk', payload: Buffer.from(`{"ts":${ts},"value":${(w + (i > 300 ? 8 : 0)).toFixed(4)}}`), receivedAt: ts, seq: seq++ });
    if (i % 50 === 0 && i > 0) {
      // A burst of 10 readings at once.
      const values = Array.from({ length: 10 }, (_, k) => Math.cos((i + k) / 7).toFixed(3));
      out.push({ topic: 'gappy', payload: Buffer.from(`{"values":[${values.join(',')}],"ts":${ts},"interval_ms":100}`), receivedAt: ts, seq: seq++ });
    } else if (i < 150 || i > 200) {
      const v = Math.cos(i / 7).toFixed(3);
      out.push({ topic: 'gappy', payload: Buffer.from(`{"ts":${ts + 500},"value":${v}}`), receivedAt: ts, seq: seq++ });
      if (i % 37 === 0) out.push({ topic: 'gappy', payload: Buffer.from(`{"ts":${ts + 500},"value":${v}}`), receivedAt: ts, seq: seq++ });
    }
  }
  return out;
}

const STUCK_FROM = 250;
const STUCK_TO = 290;

/**
 * `msgs` with a fourth stream, 'stuck': a noisy cosine that repeats one value for readings [STUCK_FROM, STUCK_TO)
 * (an episode of its own), then moves again; every 29th reading is sent twice (an MQTT redelivery), and every 31st
 * outside the stuck run is followed by another reading with the same time and another value.
 */
function withStuck(msgs: readonly RawMessage[]): RawMessage[] {
  const noise = mulberry32(9);
  const out: RawMessage[] = [];
  let held = 0;
  let seq = msgs.length;
  let i = 0;
  for (const m of msgs) {
    out.push(m);
    if (m.topic !== 'sine') continue;
    const ts = T0 + i * 1000 + 250;
    const v = i >= STUCK_FROM && i < STUCK_TO ? held : Math.cos(i / 11) + 0.05 * (noise() - 0.5);
    if (i === STUCK_FROM - 1) held = v;
    const payload = Buffer.from(`{"ts":${ts},"value":${v.toFixed(4)}}`);
    out.push({ topic: 'stuck', payload, receivedAt: ts, seq: seq++ });
    if (i % 29 === 0) out.push({ topic: 'stuck', payload, receivedAt: ts, seq: seq++ });
    // Every 31st reading outside the stuck run, another reading with the same time and another value (a hub that
    // stamps on arrival read two in one go): a reading of its own, not a duplicate.
    if (i % 31 === 7 && (i < STUCK_FROM - 1 || i > STUCK_TO + 6)) out.push({ topic: 'stuck', payload: Buffer.from(`{"ts":${ts},"value":${(v + 0.3).toFixed(4)}}`), receivedAt: ts, seq: seq++ });
    i++;
  }
  return out;
}

type Reading = Extract<DetectorOutput, { type: 'reading' }>;

/** Feeds messages: all at once (one batch), or one per event-loop turn; collects reading outputs per stream. */
async function run(d: Detector, msgs: readonly RawMessage[], mode: 'together' | 'one by one'): Promise<Map<string, Reading[]>> {
  const byStream = new Map<string, Reading[]>();
  const input = new Subject<RawMessage>();
  const done = new Promise<void>((resolve, reject) =>
    input.pipe(d.operator()).subscribe({
      next: (o) => {
        if (o.type !== 'reading') return;
        const list = byStream.get(o.reading.stream) ?? [];
        list.push(o);
        byStream.set(o.reading.stream, list);
      },
      error: reject,
      complete: resolve,
    }),
  );
  for (const m of msgs) {
    input.next(m);
    if (mode === 'one by one') await new Promise<void>((r) => setImmediate(r));
  }
  input.complete();
  await done;
  return byStream;
}

/** What must be equal between runs; episode ids are compared where one detector saw the same streams. */
function summary(r: Reading, withIds = true): unknown {
  return { ts: r.reading.ts, s: r.reading.surprise, e: r.reading.expected, st: r.reading.status, a: withIds ? r.reading.anomalyId : r.reading.anomalyId !== null, ev: r.events.map((x) => x.kind), dup: r.duplicate };
}

/** `summary` with the episode id replaced by its order of appearance in the list it is mapped over (1, 2, ...). */
function episodeOrder(of: (r: Reading, withIds?: boolean) => unknown): (r: Reading) => unknown {
  const seen = new Map<string, number>();
  return (r) => {
    const id = r.reading.anomalyId;
    if (id !== null && !seen.has(id)) seen.set(id, seen.size + 1);
    return { ...(of(r, false) as object), a: id === null ? null : seen.get(id) };
  };
}

describe('Detector', () => {
  it.each(['gru', 'lstm'] as const)('gives the same readings whether messages arrive together or one by one (%s)', async (cell) => {
    const model = randomModel(cell, `m-${cell}`);
    const msgs = messages();
    const a = await run(detector(() => model), msgs, 'together');
    const b = await run(detector(() => model), msgs, 'one by one');
    expect([...a.keys()].sort()).toEqual(['gappy', 'sine', 'walk']);
    // The same episodes, stream by stream. Their ids come from one counter over all streams, and the order in
    // which two streams open episodes near the same time depends on how their readings were batched: ids are
    // compared by their order of appearance within the stream.
    for (const stream of a.keys()) expect(b.get(stream)!.map(episodeOrder(summary))).toEqual(a.get(stream)!.map(episodeOrder(summary)));
    // Every reading got an output, duplicates included.
    const readings = msgs.reduce((n, m) => n + (m.topic === 'gappy' && m.payload.includes('values') ? 10 : 1), 0);
    expect([...a.values()].reduce((n, l) => n + l.length, 0)).toBe(readings);
    expect(a.get('gappy')!.some((r) => r.duplicate)).toBe(true);
    expect(a.get('gappy')!.some((r) => r.reset && r.reading.ts > T0 + 100_000)).toBe(true); // after the gap
  });

  it('decodes exactly at every hop steps of a segment and nowhere else', async () => {
    const model = randomModel('gru', 'm');
    const out = await run(detector(() => model), messages().filter((m) => m.topic === 'sine'), 'together');
    const withRecon = out.get('sine')!.map((r, i) => [i + 1, !Number.isNaN(r.evidence.reconstruction) || !Number.isNaN(r.deviationEvidence.reconstruction)] as const);
    // The reconstruction history speaks after its warm-up; from then on, every 4th reading has one.
    const late = withRecon.filter(([k]) => k > 200);
    expect(late.every(([k, has]) => has === (k % 4 === 0))).toBe(true);
  });

  it('a failing model call affects only the streams it carried; the stream goes on without the model', async () => {
    const good = randomModel('gru', 'good');
    const bad = randomModel('gru', 'bad');
    let calls = 0;
    const flaky: StepModel = {
      id: 'flaky',
      sidecar: bad.sidecar,
      step: (i: StepBatchInput): Promise<StepBatchOutput> => (++calls % 5 === 0 ? Promise.reject(new Error('boom')) : bad.step(i)),
      decode: (i: DecodeBatchInput): Promise<DecodeBatchOutput> => bad.decode(i),
    };
    let errors = 0;
    const d = detector((s) => (s === 'walk' ? flaky : good), () => errors++);
    const msgs = messages().filter((m) => m.topic !== 'gappy');
    const out = await run(d, msgs, 'one by one');
    const clean = await run(detector(() => good), msgs.filter((m) => m.topic === 'sine'), 'one by one');
    expect(errors).toBeGreaterThan(0);
    expect(out.get('walk')!.length).toBe(400);
    expect(out.get('walk')!.some((r) => r.reading.modelId === null)).toBe(true);
    // The sine stream, batched with the flaky one's calls on another model, is untouched.
    // (Episode ids are numbered across streams, so only their presence can be compared here.)
    expect(out.get('sine')!.map((r) => summary(r, false))).toEqual(clean.get('sine')!.map((r) => summary(r, false)));
  });

  it('a checkpoint restored into a new detector continues exactly as an uninterrupted run', async () => {
    const model = randomModel('lstm', 'm');
    const msgs = messages();
    const cut = Math.floor(msgs.length / 2);
    const whole = await run(detector(() => model), msgs, 'together');
    const first = detector(() => model);
    const a = await run(first, msgs.slice(0, cut), 'together');
    const states = new Map(first.streams().map((s) => [s, JSON.parse(JSON.stringify(first.snapshot(s))) as unknown]));
    const second = detector(() => model);
    for (const [s, state] of states) expect(second.restore(s, state)).toEqual([]);
    const b = await run(second, msgs.slice(cut), 'together');
    for (const stream of whole.keys()) {
      const joined = [...(a.get(stream) ?? []), ...(b.get(stream) ?? [])].map((r) => summary(r, false));
      expect(joined).toEqual(whole.get(stream)!.map((r) => summary(r, false)));
    }
  });

  it('restored after any message, it goes on exactly as an uninterrupted run: a duplicate right after the restart, a reading sharing the time of the one before, a stuck run that has just ended, an open episode', async () => {
    const model = randomModel('gru', 'm');
    const msgs = withStuck(messages());
    const whole = await run(detector(() => model), msgs, 'together');
    const stuck = whole.get('stuck')!;
    // The stuck run holds an episode, and its end asks for a model state reset that takes effect at the next chunk.
    expect(stuck.some((r) => r.reading.status === 'anomalous' && r.reading.ts >= T0 + STUCK_FROM * 1000)).toBe(true);
    // The readings that share the time of the one before with other values are readings, not duplicates.
    const shared = stuck.filter((r, k) => k > 0 && r.reading.ts === stuck[k - 1].reading.ts && r.reading.values[0] !== stuck[k - 1].reading.values[0]);
    expect(shared.length).toBeGreaterThan(5);
    expect(shared.some((r) => r.duplicate)).toBe(false);
    // Cuts: every 37th message, right before each duplicate and each reading sharing the time of the one before, and
    // right after the stuck run ends.
    const cuts = new Set<number>();
    for (let k = 37; k < msgs.length; k += 37) cuts.add(k);
    msgs.forEach((m, k) => {
      const ts = (JSON.parse(m.payload.toString()) as { ts: number }).ts;
      if (k > 0 && m.topic === msgs[k - 1].topic && (JSON.parse(msgs[k - 1].payload.toString()) as { ts: number }).ts === ts) cuts.add(k);
      if (m.topic === 'stuck' && ts >= T0 + STUCK_TO * 1000 && ts <= T0 + (STUCK_TO + 6) * 1000) cuts.add(k + 1);
    });
    // Everything a reading reports; episode ids by their order of appearance in the stream (the restored detector numbers its own).
    const full = (r: Reading): unknown => ({ ...(summary(r, false) as object), d: r.deviation, de: r.deviationEvidence, ad: r.evidence, m: r.reading.modelId, sp: r.reading.spread });
    const ordered = (list: readonly Reading[]): string[] => {
      const seen = new Map<string, number>();
      return list.map((r) => {
        const id = r.reading.anomalyId;
        if (id !== null && !seen.has(id)) seen.set(id, seen.size + 1);
        return JSON.stringify({ ...(full(r) as object), a: id === null ? null : seen.get(id) });
      });
    };
    const diff = (x: string | undefined, y: string | undefined): string => {
      if (x === undefined || y === undefined) return `${x} vs ${y}`;
      const a = JSON.parse(x) as Record<string, unknown>;
      const b = JSON.parse(y) as Record<string, unknown>;
      return Object.keys(b).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`).join('; ');
    };
    const bad: string[] = [];
    let insideEpisode = 0;
    for (const cut of [...cuts].sort((x, y) => x - y)) {
      const first = detector(() => model);
      const a = await run(first, msgs.slice(0, cut), 'together');
      if ([...a.values()].some((l) => l.at(-1)?.reading.status === 'anomalous')) insideEpisode++;
      const states = new Map(first.streams().map((s) => [s, JSON.parse(JSON.stringify(first.snapshot(s))) as unknown]));
      // Fresh ids for the episodes the restored detector opens (a restored episode keeps its own).
      let ids = 0;
      const second = new Detector(OPTIONS, { parser: newParser(), modelFor: () => ({ model, own: false }), priorsFor: () => null, newId: () => `r${++ids}` });
      for (const [s, state] of states) expect(second.restore(s, state)).toEqual([]);
      const b = await run(second, msgs.slice(cut), 'together');
      for (const stream of whole.keys()) {
        const before = (a.get(stream) ?? []).length;
        const joined = ordered([...(a.get(stream) ?? []), ...(b.get(stream) ?? [])]);
        const expected = ordered(whole.get(stream)!);
        const at = joined.findIndex((x, i) => x !== expected[i]);
        if (at >= 0 || joined.length !== expected.length) bad.push(`cut ${cut}, ${stream}: reading ${at - before} after the restart${expected[at]?.includes('"dup":true') ? ' (a duplicate)' : ''} differs: ${diff(joined[at], expected[at])}`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(insideEpisode).toBeGreaterThan(3);
  }, 180_000);

  it('a cyclic stream restored before, during and after a slow drift of its level goes on exactly as an uninterrupted run (the drift off the cycle is checkpointed)', async () => {
    // 20 + 3 sin(2π k / 160) + N(0, 0.2), four periods, then +3 over one period, then back: a cycle long enough for
    // the drift (span 160 / 8 = 20 ≥ the short means' 15, src/pipeline/drift.ts).
    const model = randomModel('gru', 'm');
    const P = 160;
    const onset = 4 * P;
    const noise = mulberry32(21);
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - noise())) * Math.cos(2 * Math.PI * noise());
    const msgs: RawMessage[] = [];
    for (let i = 0; i < 7 * P; i++) {
      const ts = T0 + i * 1000;
      const v = 20 + 3 * Math.sin((2 * Math.PI * i) / P) + 0.2 * gauss() + (i >= onset && i < onset + P ? (3 * (i - onset)) / P : 0);
      msgs.push({ topic: 'room', payload: Buffer.from(`{"ts":${ts},"value":${v.toFixed(2)}}`), receivedAt: ts, seq: i });
    }
    const whole = (await run(detector(() => model), msgs, 'together')).get('room')!;
    const full = (r: Reading): string => JSON.stringify({ ...(summary(r, false) as object), d: r.deviation, de: r.deviationEvidence, ad: r.evidence });
    // The drift is alarmed during it (by cycle, the drift's floor), so the cuts below restore a tracker at work.
    const during = whole.filter((r, k) => k >= onset && k < onset + P && r.reading.status === 'anomalous');
    expect(during.length).toBeGreaterThan(0);
    const bad: string[] = [];
    let withDrift = 0;
    for (const cut of [3 * P, onset + 10, onset + 40, onset + 70, onset + P - 5, onset + P + 20, onset + 2 * P - 10]) {
      const first = detector(() => model);
      const a = (await run(first, msgs.slice(0, cut), 'together')).get('room') ?? [];
      const state = JSON.parse(JSON.stringify(first.snapshot('room'))) as unknown;
      if (JSON.stringify(state).includes('"drift":')) withDrift++;
      let ids = 0;
      const second = new Detector(OPTIONS, { parser: newParser(), modelFor: () => ({ model, own: false }), priorsFor: () => null, newId: () => `r${++ids}` });
      expect(second.restore('room', state)).toEqual([]);
      const b = (await run(second, msgs.slice(cut), 'together')).get('room') ?? [];
      const joined = [...a, ...b].map(full);
      const expected = whole.map(full);
      const at = joined.findIndex((x, i) => x !== expected[i]);
      if (at >= 0 || joined.length !== expected.length) bad.push(`cut ${cut}: reading ${at} differs`);
    }
    expect(bad).toEqual([]);
    expect(withDrift).toBeGreaterThan(3);
  }, 180_000);

  it('a stop that keeps what it has not scored (inside a model call and queued), given back first after a restore, goes on exactly as an uninterrupted run', async () => {
    const model = randomModel('gru', 'm');
    // Step calls wait at a gate while it is shut: the stop comes while one is held and the rest is queued.
    let shut = false;
    const waiting: Array<() => void> = [];
    const running: Promise<unknown>[] = [];
    const gated: StepModel = {
      id: model.id,
      sidecar: model.sidecar,
      step: (i: StepBatchInput): Promise<StepBatchOutput> => {
        const call = (shut ? new Promise<void>((go) => waiting.push(go)) : Promise.resolve()).then(() => model.step(i));
        running.push(call);
        return call;
      },
      decode: (i: DecodeBatchInput): Promise<DecodeBatchOutput> => model.decode(i),
    };
    // `walk` has no model: its items of a round are handed to the scorer without a call (another group of the round).
    const modelOf = (s: string): StepModel | null => (s === 'walk' ? null : gated);
    const msgs = withStuck(messages());
    const whole = await run(detector(modelOf), msgs, 'together');
    const ordered = (list: readonly Reading[]): string[] => {
      const seen = new Map<string, number>();
      return list.map((r) => {
        const id = r.reading.anomalyId;
        if (id !== null && !seen.has(id)) seen.set(id, seen.size + 1);
        return JSON.stringify({ ...(summary(r, false) as object), d: r.deviation, ad: r.evidence, m: r.reading.modelId, a: id === null ? null : seen.get(id) });
      });
    };
    const bad: string[] = [];
    let keptTotal = 0;
    for (let cut = 53; cut < msgs.length - 80; cut += 211) {
      shut = false;
      const first = detector(modelOf);
      const a = await run(first, msgs.slice(0, cut), 'together');
      // The next 80 messages taken in with the gate shut, then the stop.
      shut = true;
      const input = new Subject<RawMessage>();
      const sub = input.pipe(first.operator()).subscribe((o) => {
        if (o.type !== 'reading') return;
        a.set(o.reading.stream, [...(a.get(o.reading.stream) ?? []), o]);
      });
      for (const m of msgs.slice(cut, cut + 80)) input.next(m);
      while (waiting.length === 0) await new Promise<void>((r) => setImmediate(r));
      const kept = first.takeKept();
      expect(first.pending).toBe(0);
      const states = new Map(first.streams().map((s) => [s, JSON.parse(JSON.stringify(first.snapshot(s))) as unknown]));
      // The held call returns after the stop: nothing more is scored.
      const scored = [...a.values()].reduce((n, l) => n + l.length, 0);
      shut = false;
      for (const go of waiting.splice(0)) go();
      await Promise.allSettled(running);
      await new Promise<void>((r) => setImmediate(r));
      expect([...a.values()].reduce((n, l) => n + l.length, 0)).toBe(scored);
      sub.unsubscribe();
      // Through the JSON of their rows, as the daemon keeps them.
      const given = kept.map((k) => decodeKept(k.stream, JSON.parse(JSON.stringify(encodeKept(k))) as unknown));
      keptTotal += given.reduce((n, k) => n + keptReadings(k.items), 0);
      let ids = 0;
      const second = new Detector(OPTIONS, { parser: newParser(), modelFor: (s) => (modelOf(s) === null ? null : { model, own: false }), priorsFor: () => null, newId: () => `r${++ids}` });
      for (const [s, state] of states) expect(second.restore(s, state)).toEqual([]);
      second.restoreKept(given);
      const b = await run(second, msgs.slice(cut + 80), 'together');
      for (const stream of whole.keys()) {
        const joined = ordered([...(a.get(stream) ?? []), ...(b.get(stream) ?? [])]);
        const expected = ordered(whole.get(stream)!);
        const at = joined.findIndex((x, i) => x !== expected[i]);
        if (at >= 0 || joined.length !== expected.length) bad.push(`cut ${cut}, ${stream}: ${joined.length} readings of ${expected.length}, reading ${at} differs`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(keptTotal).toBeGreaterThan(0);
  }, 180_000);

  it('a bad message or a parser that throws is reported and the stream goes on', async () => {
    const model = randomModel('gru', 'm');
    const d = detector(() => model);
    const msgs = messages().filter((m) => m.topic === 'sine').slice(0, 50);
    const broken = [...msgs.slice(0, 10), { topic: 'sine', payload: Buffer.from('[[[[[['), receivedAt: T0, seq: 999 }, ...msgs.slice(10)];
    const outs: DetectorOutput[] = [];
    const input = new Subject<RawMessage>();
    const done = new Promise<void>((resolve) => input.pipe(d.operator()).subscribe({ next: (o) => outs.push(o), complete: resolve }));
    for (const m of broken) input.next(m);
    input.complete();
    await done;
    expect(outs.filter((o) => o.type === 'reading')).toHaveLength(50);
    expect(outs.some((o) => o.type === 'parsed' && o.result.kind === 'rejected')).toBe(true);
  });

  it('forget drops one stream from every stage (parser slot, cadence, model state, score state) and leaves the others as they were', async () => {
    const model = randomModel('gru', 'm');
    const parser = newParser();
    const d = detector(() => model, undefined, parser);
    const msgs = messages();
    await run(d, msgs, 'together');
    const others = (): string => JSON.stringify(['sine', 'gappy'].map((s) => d.snapshot(s)));
    const before = others();
    expect(d.intervalOf('walk')).toBe(1000);
    expect(parser.streams).toBe(3);
    d.forget('walk');
    expect(d.streams().sort()).toEqual(['gappy', 'sine']);
    expect(d.intervalOf('walk')).toBeUndefined();
    expect(d.learning('walk')).toBe(true);
    expect(d.snapshot('walk')).toMatchObject({ parser: null, cadence: null, held: null, engine: null, scorer: null });
    expect(parser.streams).toBe(2);
    expect(others()).toBe(before);
    // Readings of it queued but not yet scored are dropped with it; the other stream's are not.
    const input = new Subject<RawMessage>();
    const outs: Reading[] = [];
    const done = new Promise<void>((resolve, reject) => input.pipe(d.operator()).subscribe({ next: (o) => void (o.type === 'reading' && outs.push(o)), error: reject, complete: resolve }));
    const ts = T0 + 500_000;
    input.next({ topic: 'walk', payload: Buffer.from(`{"ts":${ts},"value":1}`), receivedAt: ts });
    input.next({ topic: 'sine', payload: Buffer.from(`{"ts":${ts},"value":0.5}`), receivedAt: ts });
    expect(d.pending).toBe(2);
    d.forget('walk');
    expect(d.pending).toBe(1);
    // A stream that comes back after forget starts afresh: a new segment, learning again.
    input.next({ topic: 'walk', payload: Buffer.from(`{"ts":${ts + 1000},"value":2}`), receivedAt: ts + 1000 });
    input.complete();
    await done;
    expect(outs.map((o) => o.reading.stream)).toEqual(['sine', 'walk']);
    expect(outs[1]).toMatchObject({ reset: true, reading: { status: 'learning' } });
  });

  it.each([
    ['in the same model call', true],
    ['taken in the same round, without a model', false],
  ] as const)('forget during a model call: readings of the forgotten stream %s are not scored, and nothing of it comes back', async (_, withModel) => {
    const inner = randomModel('gru', 'm');
    let release: (() => void) | null = null;
    const started = new Promise<void>((r) => (release = r));
    let gate!: () => void;
    const opened = new Promise<void>((r) => (gate = r));
    const gated: StepModel = {
      id: 'gated',
      sidecar: inner.sidecar,
      step: async (i: StepBatchInput): Promise<StepBatchOutput> => {
        release?.();
        release = null;
        await opened;
        return inner.step(i);
      },
      decode: (i: DecodeBatchInput): Promise<DecodeBatchOutput> => inner.decode(i),
    };
    const parser = newParser();
    const d = detector((stream) => (withModel || stream === 'sine' ? gated : null), undefined, parser);
    const input = new Subject<RawMessage>();
    const outs: Reading[] = [];
    const done = new Promise<void>((resolve, reject) => input.pipe(d.operator()).subscribe({ next: (o) => void (o.type === 'reading' && outs.push(o)), error: reject, complete: resolve }));
    for (let i = 0; i < 3; i++) {
      const ts = T0 + i * 1000;
      // Without a model, walk comes second, so its readings wait in the round for sine's model call.
      for (const topic of withModel ? ['walk', 'sine'] : ['sine', 'walk']) input.next({ topic, payload: Buffer.from(`{"ts":${ts},"value":${i}}`), receivedAt: ts });
    }
    await started; // both streams' readings are taken: inside the model call, or waiting for it
    expect(d.pending).toBe(0);
    d.forget('walk');
    gate();
    input.complete();
    await done;
    expect(outs.map((o) => o.reading.stream)).toEqual(['sine', 'sine', 'sine']);
    expect(d.streams()).toEqual(['sine']);
    expect(d.snapshot('walk')).toMatchObject({ parser: null, cadence: null, held: null, engine: null, scorer: null });
  });

  it("a stream's snapshot holds that stream alone, and a checkpoint of N streams takes N snapshots (O(N), not O(N²))", async () => {
    const model = randomModel('gru', 'm');
    const sine = messages().filter((m) => m.topic === 'sine');
    const alone = detector(() => model);
    await run(alone, sine, 'together');
    const crowded = detector(() => model);
    const crowd: RawMessage[] = [];
    for (const m of sine) {
      crowd.push(m);
      for (let k = 0; k < 30; k++) crowd.push({ topic: `other${k}`, payload: Buffer.from(`{"ts":${m.receivedAt},"value":${(k + m.receivedAt / 1000) % 7}}`), receivedAt: m.receivedAt });
    }
    await run(crowded, crowd, 'together');
    expect(crowded.streams()).toHaveLength(31);
    // Episode ids are numbered across streams; everything else of sine's state is the same however many streams there are.
    const withoutIds = (x: unknown): string => JSON.stringify(x, (k, v: unknown) => (k === 'id' ? null : v));
    expect(withoutIds(crowded.snapshot('sine'))).toBe(withoutIds(alone.snapshot('sine')));
    // What a checkpoint does per save: each stream's state taken once, each stage asked once per stream.
    const perStream = vi.spyOn(crowded.scorer, 'snapshot');
    const states = new Map(crowded.streams().map((s) => [s, crowded.snapshot(s)] as const));
    expect(states.size).toBe(31);
    expect(perStream).toHaveBeenCalledTimes(31);
    expect(new Set(perStream.mock.calls.map(([s]) => s)).size).toBe(31);
    perStream.mockRestore();
  });
});
