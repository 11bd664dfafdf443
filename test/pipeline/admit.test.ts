/**
 * Admission against device clocks (src/pipeline/admit.ts, "The stream's own clock"): one time stamp ahead of
 * the stream's clock loses that reading alone, a clock that is ahead all along or steps forward for good loses
 * nothing, late readings within the tolerance are still clamped. On Admission, through MessageParser (both
 * paths, and a checkpoint), and through the detector, where a fault right after the glitch is still scored.
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ParseResult, RawMessage, RejectReason } from '../../src/contract/types.js';
import { Admission, CONFIRM, HOLD, RECENT, type HeldReading, type Settled } from '../../src/pipeline/admit.js';
import { Detector } from '../../src/pipeline/detector.js';
import { savedHeardOnce } from '../../src/daemon/checkpoints.js';
import { MessageParser, type ParseOptions } from '../../src/pipeline/parse.js';
import { compileSensorPattern } from '../../src/pipeline/topic.js';
import { detectorOptions, normal, type ReadingOutput } from './detector-helpers.js';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const TOL = 5_000;
/** Delivery delay of a device whose clock is right. */
const DELAY = 40;

function admission(): Admission {
  return new Admission({ maxFutureMs: 60_000, outOfOrderToleranceMs: TOL, maxStreams: 100, maxStreamsPerSensor: 10 });
}

interface Outcome {
  /** [reading number, time taken], in the order the readings left admission. */
  readonly taken: Array<[number, number]>;
  /** [reading number, reason]. */
  readonly rejected: Array<[number, RejectReason]>;
}

/** Admits reading i at times[i] (device time) arriving at arrivals[i], as the parser does (holding suspects). */
function run(adm: Admission, times: readonly number[], arrivals: readonly number[], stream = 's'): Outcome {
  const out: Outcome = { taken: [], rejected: [] };
  const settled: Settled[] = [];
  for (let i = 0; i < times.length; i++) {
    const taken = adm.admit(stream, stream, times[i], arrivals[i], settled);
    for (const s of settled) {
      if (s.problem === null) out.taken.push([s.held.values[0], s.ts]);
      else out.rejected.push([s.held.values[0], s.problem.reason]);
    }
    settled.length = 0;
    if (taken === HOLD) adm.hold(stream, { ts: times[i], receivedAt: arrivals[i], topic: 't', index: -1, channels: ['value'], values: [i] } satisfies HeldReading);
    else if (typeof taken === 'number') out.taken.push([i, taken]);
    else out.rejected.push([i, taken.reason]);
  }
  return out;
}

/** n readings at 1 Hz, each arriving DELAY ms after its true time; `stamp` maps (true time, i) to the device's stamp. */
function stream(n: number, stamp: (t: number, i: number) => number): { times: number[]; arrivals: number[] } {
  const times: number[] = [];
  const arrivals: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = T0 + i * 1000;
    times.push(stamp(t, i));
    arrivals.push(t + DELAY);
  }
  return { times, arrivals };
}

function nonDecreasing(xs: ReadonlyArray<[number, number]>): boolean {
  return xs.every(([, ts], k) => k === 0 || ts >= xs[k - 1][1]);
}

const numbers = (o: Outcome): number[] => o.taken.map(([i]) => i);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

describe('Admission: a device clock', () => {
  it('loses only the reading whose time stamp glitched 55 s ahead, not the 55 after it', () => {
    const { times, arrivals } = stream(120, (t, i) => (i === 30 ? t + 55_000 : t));
    const o = run(admission(), times, arrivals);
    expect(o.rejected).toEqual([[30, 'clock_glitch']]);
    expect(numbers(o)).toEqual(range(0, 120).filter((i) => i !== 30));
    expect(o.taken.every(([i, ts]) => ts === times[i])).toBe(true);
  });

  it('says what the glitch was, counted as clock_glitch', () => {
    const { times, arrivals } = stream(40, (t, i) => (i === 30 ? t + 55_000 : t));
    const adm = admission();
    run(adm, times.slice(0, 31), arrivals.slice(0, 31));
    const settled: Settled[] = [];
    expect(adm.admit('s', 's', times[31], arrivals[31], settled)).toBe(times[31]);
    expect(settled).toHaveLength(1);
    expect(settled[0].problem?.detail).toBe("timestamp 2026-11-25T10:01:25.000Z was 54000 ms ahead of the stream's clock (its next reading is at 2026-11-25T10:00:31.000Z): a device clock glitch");
  });

  it(`loses only the glitched readings when up to ${CONFIRM - 1} in a row glitch`, () => {
    const { times, arrivals } = stream(120, (t, i) => (i >= 30 && i < 30 + CONFIRM - 1 ? t + 55_000 : t));
    const o = run(admission(), times, arrivals);
    expect(o.rejected).toEqual(range(30, 30 + CONFIRM - 1).map((i) => [i, 'clock_glitch']));
    expect(numbers(o)).toEqual(range(0, 120).filter((i) => i < 30 || i >= 30 + CONFIRM - 1));
  });

  it('loses nothing of a device whose clock is 30 s ahead from its first reading', () => {
    const { times, arrivals } = stream(100, (t) => t + 30_000);
    const o = run(admission(), times, arrivals);
    expect(o.rejected).toEqual([]);
    expect(numbers(o)).toEqual(range(0, 100));
    expect(o.taken.every(([i, ts]) => ts === times[i])).toBe(true);
  });

  it('loses nothing of a device whose clock drifts ahead, up to 50 s', () => {
    const { times, arrivals } = stream(500, (t, i) => t + i * 100);
    const o = run(admission(), times, arrivals);
    expect(o.rejected).toEqual([]);
    expect(numbers(o)).toEqual(range(0, 500));
  });

  it('loses nothing when the clock steps forward 55 s for good (NTP correction)', () => {
    const { times, arrivals } = stream(120, (t, i) => (i >= 50 ? t + 55_000 : t));
    const o = run(admission(), times, arrivals);
    expect(o.rejected).toEqual([]);
    expect(numbers(o)).toEqual(range(0, 120));
    expect(nonDecreasing(o.taken)).toBe(true);
    expect(o.taken.every(([i, ts]) => ts === times[i])).toBe(true);
  });

  it('loses nothing of a device whose readings usually queue 30 s and one comes through at once', () => {
    const { times, arrivals } = stream(100, (t) => t);
    for (let i = 0; i < 100; i++) if (i !== 60) arrivals[i] += 30_000;
    const o = run(admission(), times, arrivals);
    expect(o.rejected).toEqual([]);
    expect(numbers(o)).toEqual(range(0, 100));
  });

  it('takes a backfill (readings from the past, sent faster than they were taken) at once, the last one too', () => {
    // A gateway flushing 2 h of 5-min readings after an outage, 10 ms apart: each lead is 5 min above the
    // last, but every reading is in the past of its arrival, so none can push the next out of order.
    const times = Array.from({ length: 24 }, (_, i) => T0 - 2 * 3_600_000 + i * 300_000);
    const arrivals = times.map((_, i) => T0 + i * 10);
    const o = run(admission(), times, arrivals);
    expect(o.rejected).toEqual([]);
    expect(numbers(o)).toEqual(range(0, 24));
  });

  it('takes no reading older than the newest: late or redelivered within the tolerance, out_of_order beyond it', () => {
    // 3: older than the newest, a time not read (late); 5: beyond the tolerance; 6: a time read before (re-sent);
    // 7: the newest's own time (taken: the detector tells a duplicate from a reading sharing the ms).
    const times = [T0, T0 + 1000, T0 + 2000, T0 - 2500, T0 + 3000, T0 - 4000, T0 + 1000, T0 + 3000];
    const arrivals = [T0, T0 + 1000, T0 + 2000, T0 + 2100, T0 + 3000, T0 + 3100, T0 + 3200, T0 + 3300].map((a) => a + DELAY);
    const o = run(admission(), times, arrivals);
    expect(o.taken).toEqual([[0, T0], [1, T0 + 1000], [2, T0 + 2000], [4, T0 + 3000], [7, T0 + 3000]]);
    expect(o.rejected).toEqual([[3, 'late'], [5, 'out_of_order'], [6, 'redelivered']]);
  });

  it('tells a re-sent reading by the last RECENT distinct times it took, and keeps them in its snapshot', () => {
    const adm = admission();
    const times = Array.from({ length: RECENT + 2 }, (_, i) => T0 + i * 100);
    run(adm, times, times.map((t) => t + DELAY));
    const reasons = (a: Admission, ts: number): string => {
      const r = a.admit('s', 's', ts, times[times.length - 1] + DELAY + 50, []);
      return typeof r === 'object' ? r.reason : String(r);
    };
    const restored = admission();
    restored.restore('s', JSON.parse(JSON.stringify(adm.snapshot('s'))) as unknown);
    for (const a of [adm, restored]) {
      expect(reasons(a, times[2])).toBe('redelivered');
      expect(reasons(a, times[1])).toBe('late');
      expect(reasons(a, times[2] + 50)).toBe('late');
    }
  });

  it('is not misled by readings stamped on arrival', () => {
    // A device clock 20 s behind, and bare numbers (stamped on arrival) on the same stream: taken at once.
    const adm = admission();
    const settled: Settled[] = [];
    expect(adm.admit('s', 's', T0 - 20_000, T0, settled)).toBe(T0 - 20_000);
    expect(adm.admit('s', 's', T0 + 1000, T0 + 1000, settled)).toBe(T0 + 1000);
    expect(settled).toEqual([]);
  });

  it('takes a whole run (the burst fast path) only when no reading of it is suspect', () => {
    const adm = admission();
    expect(adm.admitsRun('s', 's', T0 - 9000, T0, T0 + DELAY)).toBe(true);
    adm.commitRun('s', 's', T0, T0 + DELAY, [1]);
    expect(adm.usualLead('s')).toBe(-DELAY);
    expect(adm.admitsRun('s', 's', T0 + 1000, T0 + 10_000, T0 + 10_000 + DELAY)).toBe(true);
    expect(adm.admitsRun('s', 's', T0 + 1000, T0 + 60_000, T0 + 10_000 + DELAY)).toBe(false);
  });
});

describe('MessageParser: a device clock', () => {
  const options = (over: Partial<ParseOptions> = {}): ParseOptions => ({
    sensorOf: compileSensorPattern('sensors/{sensor}'),
    maxPayloadBytes: 4096,
    maxFutureMs: 60_000,
    outOfOrderToleranceMs: TOL,
    maxReadingsPerMessage: 100,
    longBurst: 'split',
    window: 4,
    ...over,
  });
  const msg = (payload: string, receivedAt: number): RawMessage => ({ topic: 'sensors/dev', payload: Buffer.from(payload), receivedAt });

  /** 1 Hz single readings and bursts of 5 with one glitch each, then a clock step; every message its own arrival. */
  function messages(): RawMessage[] {
    const out: RawMessage[] = [];
    for (let i = 0; i < 80; i++) {
      const t = T0 + i * 1000;
      const stamp = i === 20 ? t + 55_000 : i >= 60 ? t + 40_000 : t;
      out.push(msg(i % 2 === 0 ? `{"value": ${i}, "ts": ${stamp}}` : `{"ts": ${stamp}, "temp": ${i}, "hum": ${-i}}`, t + DELAY));
    }
    for (let k = 0; k < 10; k++) {
      const t = T0 + 80_000 + k * 5000;
      const ts = k === 4 ? t + 55_000 : t + 40_000;
      out.push(msg(`{"values": [${k}, ${k}, ${k}, ${k}, ${k}], "ts": ${ts}, "interval_ms": 1000}`, t + 4000 + DELAY));
    }
    return out;
  }

  it('gives the same results on the fast path and the JSON.parse path, and through a checkpoint', () => {
    const all = messages();
    const slow = new MessageParser(options({ fastPath: false }));
    const expected = all.map((m) => slow.parse(m));
    const fast = new MessageParser(options());
    expect(all.map((m) => fast.parse(m))).toStrictEqual(expected);
    // A restart at every message (the stream's held readings and usual lead go through JSON).
    for (const cut of [20, 21, 61, 62, 84, 85]) {
      const before = new MessageParser(options());
      const got: ParseResult[] = all.slice(0, cut).map((m) => before.parse(m));
      const after = new MessageParser(options());
      for (const s of ['dev', 'dev/temp', 'dev/hum']) {
        const snap = before.snapshot(s);
        if (snap !== null) after.restore(s, JSON.parse(JSON.stringify(snap)) as unknown);
      }
      got.push(...all.slice(cut).map((m) => after.parse(m)));
      expect(got).toStrictEqual(expected);
    }
  });

  it('rejects each glitched reading clock_glitch under its own message and takes every other one', () => {
    const p = new MessageParser(options());
    const results = messages().map((m) => p.parse(m));
    const rejections = results.flatMap((r) => (r.kind === 'rejected' ? [r.rejection] : r.rejections));
    // The burst's one time stamp was 15 s ahead of the (stepped) clock: its five readings are rejected (with the next message).
    expect(rejections.map((r) => [r.sensor, r.reason, r.receivedAt])).toEqual([
      ['dev', 'clock_glitch', T0 + 20_000 + DELAY],
      ...range(0, 5).map(() => ['dev', 'clock_glitch', T0 + 80_000 + 4 * 5000 + 4000 + DELAY]),
    ]);
    expect(rejections.slice(1).map((r) => r.detail.slice(0, 10))).toEqual(range(0, 5).map((j) => `element ${j}:`.slice(0, 10)));
    expect(rejections[1].detail).toMatch(/^element 0: timestamp .* ahead of the stream's clock/);
    const readings = results.flatMap((r) => (r.kind === 'readings' ? r.readings : []));
    const bySensor = (s: string): number[] => readings.filter((r) => r.sensor === s).map((r) => r.values[0]);
    expect(bySensor('dev')).toHaveLength(40 - 1 + 50 - 5);
    expect(bySensor('dev/temp')).toEqual(range(0, 80).filter((i) => i % 2 === 1));
    for (const s of ['dev', 'dev/temp', 'dev/hum']) expect(nonDecreasing(readings.filter((r) => r.sensor === s).map((r) => [0, r.ts]))).toBe(true);
  });

  it('reads an anomalyd-parser/2 snapshot (no usual lead yet: it is learnt again)', () => {
    const p = new MessageParser(options());
    p.restore('dev', { format: 'anomalyd-parser/2', lastTs: T0, source: 'dev' });
    expect(p.parse(msg(`{"value": 1, "ts": ${T0 - 10_000}}`, T0))).toMatchObject({ kind: 'rejected', rejection: { reason: 'out_of_order' } });
    expect(p.parse(msg(`{"value": 1, "ts": ${T0 + 1000}}`, T0 + 1000 + DELAY))).toMatchObject({ kind: 'readings', readings: [{ ts: T0 + 1000 }] });
    expect(p.snapshot('dev')).toMatchObject({ format: 'anomalyd-parser/3', lead: [-DELAY, null, 1, T0 + 1000 + DELAY], held: [] });
  });
});

describe('Detector: a fault right after a clock glitch', () => {
  it('is scored and flagged; only the glitched reading is lost', async () => {
    const parser = new MessageParser({ sensorOf: (t) => t, maxPayloadBytes: 4096, maxFutureMs: 60_000, outOfOrderToleranceMs: TOL, maxReadingsPerMessage: 100, longBurst: 'split', window: 32 });
    const det = new Detector(detectorOptions(), { parser, modelFor: () => null, priorsFor: () => null, newId: () => 'e' });
    const out: ReadingOutput[] = [];
    const reasons: string[] = [];
    const input = new Subject<RawMessage>();
    const done = new Promise<void>((resolve, reject) => {
      input.pipe(det.operator()).subscribe({
        next: (o) => {
          if (o.type === 'reading') out.push(o);
          else if (o.type === 'parsed') reasons.push(...(o.result.kind === 'rejected' ? [o.result.rejection] : o.result.rejections).map((r) => r.reason));
          else reject(new Error(o.detail));
        },
        error: reject,
        complete: resolve,
      });
    });
    const noise = normal(7);
    const n = 400;
    const glitch = 300;
    for (let i = 0; i < n; i++) {
      const t = T0 + i * 1000;
      // The fault: the level jumps by 40 noise widths from 5 s after the glitch to 40 s after it.
      const v = 20 + Math.sin(i / 10) + 0.1 * noise() + (i >= glitch + 5 && i < glitch + 40 ? 4 : 0);
      input.next({ topic: 'probe', payload: Buffer.from(`{"value": ${v}, "ts": ${i === glitch ? t + 55_000 : t}}`), receivedAt: t + DELAY, seq: i });
    }
    input.complete();
    await done;
    expect(reasons).toEqual(['clock_glitch']);
    expect(out.filter((o) => !o.duplicate)).toHaveLength(n - 1);
    const faultFlagged = out.some((o) => o.origin.seq >= glitch + 5 && o.origin.seq < glitch + 40 && o.reading.status === 'anomalous');
    expect(faultFlagged).toBe(true);
  });
});

describe('Admission snapshot', () => {
  it('keeps a stream whose only reading is held, and what it holds', () => {
    const adm = admission();
    const settled: Settled[] = [];
    expect(adm.admit('s', 's', T0 + 30_000, T0, settled)).toBe(HOLD);
    adm.hold('s', { ts: T0 + 30_000, receivedAt: T0, topic: 't', index: -1, channels: ['value'], values: [1] });
    const snap = JSON.parse(JSON.stringify(adm.snapshot('s'))) as unknown;
    expect(snap).toEqual({ format: 'anomalyd-parser/3', lastTs: null, source: 's', lead: [null, null, 0, null], held: [{ ts: T0 + 30_000, receivedAt: T0, topic: 't', index: -1, channels: ['value'], values: [1] }] });
    const again = admission();
    again.restore('s', snap);
    // The next reading agrees with the held one (a clock 30 s ahead): both are taken, in order.
    expect(again.admit('s', 's', T0 + 31_000, T0 + 1000, settled)).toBe(HOLD);
    again.hold('s', { ts: T0 + 31_000, receivedAt: T0 + 1000, topic: 't', index: -1, channels: ['value'], values: [2] });
    expect(again.admit('s', 's', T0 + 32_000, T0 + 2000, settled)).toBe(T0 + 32_000);
    expect(settled.map((x) => [x.held.values[0], x.ts])).toEqual([[1, T0 + 30_000], [2, T0 + 31_000]]);
  });
});

describe('streams heard once (src/pipeline/admit.ts; tryout 25, finding 6)', () => {
  /** An admission of 3 slots recording what it displaces; `message` admits one reading of `stream` in a message of its own. */
  function table(onDisplace = true): { adm: Admission; displaced: string[]; message: (stream: string, t: number, device?: string) => number | string } {
    const displaced: string[] = [];
    const adm = new Admission({ maxFutureMs: 60_000, outOfOrderToleranceMs: TOL, maxStreams: 3, maxStreamsPerSensor: 2, ...(onDisplace ? { onDisplace: (s: string) => void displaced.push(s) } : {}) });
    const message = (stream: string, t: number, device = stream): number | string => {
      adm.nextMessage();
      const taken = adm.admit(stream, device, T0 + t, T0 + t + DELAY, []);
      return typeof taken === 'object' ? taken.reason : taken;
    };
    return { adm, displaced, message };
  }

  it('with the table full of streams heard once, a new stream is turned away at its first message and takes the slot of the one heard least recently at its second', () => {
    const { adm, displaced, message } = table();
    message('junk0', 0);
    message('junk1', 10);
    message('junk2', 20);
    expect(adm.table()).toMatchObject({ tracked: 3, heardOnce: 3, fullSince: null, turnedAway: 0 });
    expect(message('pump', 1000)).toBe('too_many_streams');
    expect(adm.table()).toMatchObject({ tracked: 3, fullSince: T0 + 1000 + DELAY, turnedAway: 1, displaced: 0 });
    expect(message('pump', 2000)).toBe(T0 + 2000);
    expect(displaced).toEqual(['junk0']);
    expect(adm.heardOnce('pump')).toBe(false);
    expect(adm.heardOnce('junk0')).toBe(false);
    expect(adm.table()).toMatchObject({ tracked: 3, heardOnce: 2, fullSince: T0 + 1000 + DELAY, turnedAway: 1, displaced: 1 });
    // Its checkpoint says it repeated (one time taken would read as a stream heard once: not restored), a junk one's does not.
    expect(savedHeardOnce({ parser: adm.snapshot('pump') })).toBe(false);
    expect(savedHeardOnce({ parser: adm.snapshot('junk1') })).toBe(true);
    // Its next readings are taken as any stream's.
    expect(message('pump', 3000)).toBe(T0 + 3000);
  });

  it('a stream that repeated is never displaced; with none heard once left, new streams are turned away', () => {
    const { adm, displaced, message } = table();
    message('a', 0);
    message('b', 10);
    message('c', 20);
    message('a', 1000);
    expect(adm.heardOnce('a')).toBe(false);
    message('new1', 1100);
    expect(message('new1', 2100)).toBe(T0 + 2100);
    expect(displaced).toEqual(['b']);
    message('new2', 2200);
    expect(message('new2', 3200)).toBe(T0 + 3200);
    expect(displaced).toEqual(['b', 'c']);
    // a, new1, new2: all heard twice.
    message('new3', 3300);
    expect(message('new3', 4300)).toBe('too_many_streams');
    expect(adm.table()).toMatchObject({ heardOnce: 0, turnedAway: 3 });
    // A slot freed (an eviction) ends the lockout.
    adm.forget('a');
    expect(adm.table().fullSince).toBeNull();
    expect(message('new3', 5300)).toBe(T0 + 5300);
  });

  it('without onDisplace (replay, evaluation) a new stream past maxStreams is rejected as before', () => {
    const { displaced, message } = table(false);
    message('a', 0);
    message('b', 10);
    message('c', 20);
    expect(message('d', 1000)).toBe('too_many_streams');
    expect(message('d', 2000)).toBe('too_many_streams');
    expect(displaced).toEqual([]);
  });

  it('the readings of one message are one hearing: a burst does not make a stream heard twice, and a stream created in the message being admitted is not displaced', () => {
    const { adm, displaced } = table();
    adm.nextMessage();
    for (let i = 0; i < 3; i++) adm.admit('burst', 'burst', T0 + i, T0 + 10, []);
    expect(adm.heardOnce('burst')).toBe(true);
    // One message carrying three new streams, the third of them noted before: the first two fill the table.
    adm.nextMessage();
    expect(adm.admit('x/1', 'x', T0, T0 + 10, [])).toBe(T0);
    expect(adm.admit('x/2', 'x', T0, T0 + 10, [])).toBe(T0);
    expect(adm.admit('y', 'y', T0, T0 + 10, [])).toMatchObject({ reason: 'too_many_streams' });
    adm.nextMessage();
    expect(adm.admit('y', 'y', T0 + 1000, T0 + 1010, [])).toBe(T0 + 1000);
    expect(displaced).toEqual(['burst']);
  });
});
