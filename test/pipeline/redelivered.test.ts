/**
 * A device-timed reading that arrives after a newer one of its stream (within ingest.outOfOrderToleranceMs):
 *   - re-sent, its time read already: an MQTT QoS 1 broker re-sends the messages whose PUBACK it did not get after a
 *     reconnect (DUP), a persistent session's in-flight window; a device or gateway re-sends its last readings;
 *   - of its own, its time not read before: it arrived out of order.
 * Admission clamped such a reading to the stream's newest time, and since branch `sametime` the detector judged it
 * there as a step of 0 ms with its own values: a re-sent m1, m2, m3 after m3 was read became extra steps (a step
 * back to m1's values, m2's, then m3's again) and moved every later score. Now neither is taken: counted
 * `redelivered` or `late` (src/pipeline/admit.ts), nothing judged twice, nothing learnt from it. Through the real
 * detector core (parser, admission, cadence, step engine, scorer) without a model.
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ParseResult, RawMessage, RejectReason } from '../../src/contract/types.js';
import { Detector } from '../../src/pipeline/detector.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { detectorOptions, normal, type ReadingOutput } from './detector-helpers.js';

const T0 = Date.UTC(2026, 0, 1);
/** Readings before the re-sent ones (past learnReadings), and after. */
const N = 300;
const AFTER = 60;
/** Delivery delay of a live reading, ms. */
const DELAY = 40;

interface Sent {
  readonly ts: number;
  readonly value: number;
  readonly receivedAt: number;
}

interface Run {
  /** Reading outputs that are steps (not duplicates), in order. */
  readonly steps: ReadingOutput[];
  readonly duplicates: number;
  readonly rejected: Partial<Record<RejectReason, number>>;
  readonly opened: number[];
}

/** Feeds `{"value", "ts"}` messages of one stream, device-timed, through a detector. */
async function run(msgs: readonly Sent[]): Promise<Run> {
  const parser = new MessageParser({ sensorOf: (t) => t, objects: 'channels', maxPayloadBytes: 1 << 20, maxFutureMs: 60_000, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10000, longBurst: 'split', window: 32 });
  let ids = 0;
  const det = new Detector(detectorOptions(), { parser, modelFor: () => null, priorsFor: () => null, newId: () => `e${++ids}` });
  const steps: ReadingOutput[] = [];
  let duplicates = 0;
  const rejected: Partial<Record<RejectReason, number>> = {};
  const count = (r: RejectReason): void => {
    rejected[r] = (rejected[r] ?? 0) + 1;
  };
  const input = new Subject<{ topic: string; payload: Buffer; receivedAt: number; seq: number }>();
  const done = new Promise<void>((resolve, reject) => {
    input.pipe(det.operator()).subscribe({
      next: (o) => {
        if (o.type === 'reading') {
          if (o.duplicate) duplicates++;
          else steps.push(o);
        } else if (o.type === 'parsed') {
          if (o.result.kind === 'rejected') count(o.result.rejection.reason);
          else if (o.result.kind === 'readings') for (const r of o.result.rejections) count(r.reason);
        } else reject(new Error(o.detail));
      },
      error: reject,
      complete: resolve,
    });
  });
  msgs.forEach((m, seq) => input.next({ topic: 'pump/pressure', payload: Buffer.from(JSON.stringify({ value: m.value, ts: m.ts })), receivedAt: m.receivedAt, seq }));
  input.complete();
  await done;
  const opened = steps.flatMap((o) => (o.events.some((e) => e.kind === 'open') ? [o.reading.ts] : []));
  return { steps, duplicates, rejected, opened };
}

/** A pressure swinging fast around its level (1 Hz): consecutive readings far apart, as a pump's are. */
function live(n: number): Sent[] {
  const g = normal(7);
  return Array.from({ length: n }, (_, i) => ({ ts: T0 + i * 1000, value: Number((4 + 1.5 * Math.sin(i * 1.3) + 0.05 * g()).toFixed(3)), receivedAt: T0 + i * 1000 + DELAY }));
}

const scores = (r: Run): Array<[number, number]> => r.steps.map((o) => [o.reading.ts, o.reading.surprise]);

describe('a device-timed reading older than its stream\'s newest, within the tolerance', () => {
  it('re-sent after newer ones were read (a QoS 1 redelivery at a reconnect): not judged again, counted redelivered', async () => {
    const plain = live(N + AFTER);
    // The broker re-sends the last 4 messages (its in-flight window, PUBACKs lost in the cut) 2 s after the last was read.
    const resent = plain.slice(N - 4, N).map((m, k) => ({ ...m, receivedAt: plain[N - 1].receivedAt + 2000 + k }));
    const msgs = [...plain.slice(0, N), ...resent, ...plain.slice(N).map((m) => ({ ...m, receivedAt: m.receivedAt + 2000 }))];
    const base = await run(plain);
    const out = await run(msgs);
    // No extra step: the same readings judged, at the same times, with the same scores as without the resend.
    expect(out.steps).toHaveLength(N + AFTER);
    expect(scores(out)).toEqual(scores(base));
    expect(out.opened).toEqual(base.opened);
    // The three older ones counted with their reason; the newest's own (same time, same values) is a duplicate.
    expect(out.rejected).toEqual({ redelivered: 3 });
    expect(out.duplicates).toBe(1);
  });

  it('a publisher re-sending its older readings again and again opens nothing and changes no score', async () => {
    const plain = live(N + AFTER);
    const msgs: Sent[] = [];
    for (let i = 0; i < plain.length; i++) {
      msgs.push(plain[i]);
      // Every 10th message, the device re-sends its 3 readings before the last (a buffer it was not sure went out).
      if (i >= 3 && i % 10 === 0) for (let k = 3; k >= 1; k--) msgs.push({ ...plain[i - k], receivedAt: plain[i].receivedAt + 10 * k });
    }
    const base = await run(plain);
    const out = await run(msgs);
    expect(out.steps).toHaveLength(N + AFTER);
    expect(scores(out)).toEqual(scores(base));
    expect(out.opened).toEqual([]);
    expect(base.opened).toEqual([]);
    expect(out.rejected).toEqual({ redelivered: 3 * Math.floor((N + AFTER - 1) / 10) });
  });

  it('arriving late (its time never read): not taken as a step at the newest time, counted late, the interval unmoved', async () => {
    const plain = live(N + AFTER);
    // Every 7th reading reaches the daemon after the next one (a gateway that forwards out of order).
    const msgs = [...plain];
    const swapped: number[] = [];
    for (let i = 50; i + 1 < N + AFTER; i += 7) {
      [msgs[i], msgs[i + 1]] = [{ ...plain[i + 1], receivedAt: plain[i].receivedAt }, { ...plain[i], receivedAt: plain[i + 1].receivedAt }];
      swapped.push(i);
    }
    const out = await run(msgs);
    expect(out.rejected).toEqual({ late: swapped.length });
    // Each reading judged at its own time, once: none at the time of the one that overtook it.
    expect(out.steps).toHaveLength(N + AFTER - swapped.length);
    const times = out.steps.map((o) => o.reading.ts);
    expect(new Set(times).size).toBe(times.length);
    expect(out.opened).toEqual([]);
  });
});

describe('a message without a device time that the broker re-sends (MQTT DUP), stamped on its arrival', () => {
  const parser = (): MessageParser => new MessageParser({ sensorOf: (t) => t.split('/')[1] ?? null, objects: 'channels', maxPayloadBytes: 1 << 20, maxFutureMs: 60_000, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10000, longBurst: 'split', window: 32 });
  const reasonOf = (r: ParseResult): string => (r.kind === 'rejected' ? r.rejection.reason : r.kind === 'readings' ? `${r.readings.length} readings` : 'other');

  it('a copy of a message read is rejected redelivered (not judged again at its new arrival); one not read, or sent again without DUP, is read', () => {
    const p = parser();
    const at = (i: number): number => T0 + i * 1000;
    const m = (i: number, payload: string, dup: boolean): RawMessage => ({ topic: 'zigbee2mqtt/kitchen', payload: Buffer.from(payload), receivedAt: at(i), dup });
    expect(reasonOf(p.parse(m(0, '{"temperature":21.5,"humidity":40}', false)))).toBe('1 readings');
    expect(reasonOf(p.parse(m(1, '{"temperature":21.6,"humidity":40}', false)))).toBe('1 readings');
    expect(reasonOf(p.parse(m(2, '{"temperature":21.7,"humidity":41}', false)))).toBe('1 readings');
    // The reconnect: the broker re-sends the three (their PUBACKs lost), then one the daemon never got.
    for (const [i, payload] of ['{"temperature":21.5,"humidity":40}', '{"temperature":21.6,"humidity":40}', '{"temperature":21.7,"humidity":41}'].entries()) {
      const r = p.parse(m(3 + i, payload, true));
      expect(reasonOf(r)).toBe('redelivered');
      if (r.kind === 'rejected') expect(r.rejection.sensor).toBe('kitchen');
    }
    expect(reasonOf(p.parse(m(6, '{"temperature":21.8,"humidity":41}', true)))).toBe('1 readings');
    // The device sends the same values again (no DUP): a reading (a steady sensor repeats itself).
    expect(reasonOf(p.parse(m(7, '{"temperature":21.8,"humidity":41}', false)))).toBe('1 readings');
    // Another topic's identical payload is not a copy of this one's.
    expect(reasonOf(p.parse({ topic: 'zigbee2mqtt/hall', payload: Buffer.from('{"temperature":21.5,"humidity":40}'), receivedAt: at(8), dup: true }))).toBe('1 readings');
  });

  it('replay and the bench (no DUP flag at all) read every message', () => {
    const p = parser();
    for (let i = 0; i < 3; i++) expect(reasonOf(p.parse({ topic: 'zigbee2mqtt/kitchen', payload: Buffer.from('{"temperature":21.5}'), receivedAt: T0 + i * 1000 }))).toBe('1 readings');
  });
});

describe('readings that share a time, re-sent after another reading of that time', () => {
  // A device clock in whole seconds or a hub's buffer flushed under one time: two readings of their own in one ms
  // (src/pipeline/cadence.ts, `distinct`). The detector compares a reading at the previous one's time with that one
  // only, so a copy of the first of two, re-sent after the second, was judged again as a step (and the second's copy
  // after it, as a step back). Admission now keeps the values taken at the newest time (src/pipeline/admit.ts).
  /** live(), with a second reading of its own at the time of every 20th reading (its value 0.2 higher). */
  const paired = (): { msgs: Sent[]; pairs: number[] } => {
    const msgs: Sent[] = [];
    const pairs: number[] = [];
    for (const m of live(N + AFTER)) {
      msgs.push(m);
      const i = (m.ts - T0) / 1000;
      if (i >= 20 && i % 20 === 0) {
        msgs.push({ ts: m.ts, value: Number((m.value + 0.2).toFixed(3)), receivedAt: m.receivedAt + 5 });
        pairs.push(msgs.length - 2);
      }
    }
    return { msgs, pairs };
  };

  it('both re-sent after the second was read (a QoS 1 in-flight window, a device re-sending its last): neither judged again', async () => {
    const { msgs, pairs } = paired();
    const resent: Sent[] = [];
    for (let k = 0; k < msgs.length; k++) {
      resent.push(msgs[k]);
      // After the second of a pair, the broker re-sends both (their PUBACKs lost at a cut), 300 ms later.
      if (pairs.includes(k - 1)) for (const j of [k - 1, k]) resent.push({ ...msgs[j], receivedAt: msgs[k].receivedAt + 300 + j - k });
    }
    const base = await run(msgs);
    const out = await run(resent);
    // Both readings of a pair judged (the second is no copy of the first the first time it comes) ...
    expect(base.steps).toHaveLength(msgs.length);
    expect(base.rejected).toEqual({});
    // ... and the copies not again: the same steps and scores as without them.
    expect(out.steps).toHaveLength(msgs.length);
    expect(scores(out)).toEqual(scores(base));
    expect(out.opened).toEqual(base.opened);
    // The first's copy counted redelivered; the second's (the values of the stream's last reading) is its duplicate.
    expect(out.rejected).toEqual({ redelivered: pairs.length });
    expect(out.duplicates).toBe(pairs.length);
  });

  it('told after a restart from the checkpoint too (the parser snapshot keeps the values taken at the newest time)', () => {
    const make = (): MessageParser => new MessageParser({ sensorOf: (t) => t, objects: 'channels', maxPayloadBytes: 1 << 20, maxFutureMs: 60_000, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10000, longBurst: 'split', window: 32 });
    const msg = (value: number, ts: number, receivedAt: number): RawMessage => ({ topic: 'pump', payload: Buffer.from(JSON.stringify({ value, ts })), receivedAt });
    const before = make();
    expect(before.parse(msg(4.1, T0, T0 + 40)).kind).toBe('readings');
    expect(before.parse(msg(4.3, T0, T0 + 45)).kind).toBe('readings');
    const after = make();
    after.restore('pump', JSON.parse(JSON.stringify(before.snapshot('pump'))));
    const copy = after.parse(msg(4.1, T0, T0 + 900));
    expect(copy.kind === 'rejected' ? copy.rejection.reason : copy.kind).toBe('redelivered');
    // A third reading of its own at that time, other values: taken.
    expect(after.parse(msg(4.2, T0, T0 + 950)).kind).toBe('readings');
    // A stream with one reading at its newest time keeps no values in its snapshot (the checkpoint stays as small).
    expect(after.parse(msg(4.0, T0 + 1000, T0 + 1040)).kind).toBe('readings');
    expect(after.snapshot('pump')).not.toHaveProperty('sameTime');
  });

  it('one message\'s readings at one time are never copies of each other; readings stamped on arrival are never told by their values', () => {
    const p = new MessageParser({ sensorOf: (t) => t.split('/')[1] ?? null, objects: 'channels', maxPayloadBytes: 1 << 20, maxFutureMs: 60_000, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10000, longBurst: 'split', window: 32 });
    const taken = (r: ParseResult): number => (r.kind === 'readings' ? r.readings.length : 0);
    // A hub's buffer flushed under one time: 20.1, 20.2, 20.1 (the third is the stream's own, in the same message).
    const buffer = JSON.stringify([20.1, 20.2, 20.1].map((value) => ({ ts: T0, value })));
    expect(taken(p.parse({ topic: 'hub/probe', payload: Buffer.from(buffer), receivedAt: T0 + 40 }))).toBe(3);
    // The same buffer re-sent: 20.2 is a copy (redelivered); the 20.1s carry the stream's last reading's values and
    // time, which the detector takes for its duplicates (not judged).
    const again = p.parse({ topic: 'hub/probe', payload: Buffer.from(buffer), receivedAt: T0 + 400 });
    expect(again.kind === 'readings' ? again.readings.map((r) => r.values[0]) : []).toEqual([20.1, 20.1]);
    expect(again.kind === 'readings' ? again.rejections.map((r) => r.reason) : []).toEqual(['redelivered']);
    // Three messages without a time read in one go (one arrival ms): on, off, on, each a reading.
    for (const v of [1, 0, 1]) expect(taken(p.parse({ topic: 'hub/door', payload: Buffer.from(JSON.stringify({ value: v })), receivedAt: T0 + 2000 }))).toBe(1);
  });
});

describe('a message without a device time that the broker re-sends (MQTT DUP) to a restarted daemon', () => {
  const make = (): MessageParser => new MessageParser({ sensorOf: (t) => t.split('/')[1] ?? null, objects: 'channels', maxPayloadBytes: 1 << 20, maxFutureMs: 60_000, outOfOrderToleranceMs: 5000, maxReadingsPerMessage: 10000, longBurst: 'split', window: 32 });
  const reasonOf = (r: ParseResult): string => (r.kind === 'rejected' ? r.rejection.reason : r.kind === 'readings' ? `${r.readings.length} readings` : 'other');
  const m = (i: number, payload: string, dup: boolean, topic = 'zigbee2mqtt/kitchen'): RawMessage => ({ topic, payload: Buffer.from(payload), receivedAt: T0 + i * 1000, dup });

  it('a copy of a message read before the restart is rejected redelivered (its topic\'s fingerprints in the stream\'s snapshot); without DUP it is read', () => {
    const before = make();
    for (let i = 0; i < 3; i++) expect(reasonOf(before.parse(m(i, `{"temperature":21.${5 + i}}`, false)))).toBe('1 readings');
    // A device-timed stream's snapshot carries none (its times tell a copy).
    expect(reasonOf(before.parse(m(3, `{"temperature":20,"ts":${T0 + 2900}}`, false, 'zigbee2mqtt/hall')))).toBe('1 readings');
    expect(before.snapshot('hall')).not.toHaveProperty('resent');
    const saved = JSON.parse(JSON.stringify({ kitchen: before.snapshot('kitchen'), hall: before.snapshot('hall') })) as Record<string, unknown>;
    const after = make();
    for (const [stream, s] of Object.entries(saved)) after.restore(stream, s);
    // The broker re-sends the last two (DUP): not judged again at their new arrival.
    for (const i of [1, 2]) {
      const r = after.parse(m(10 + i, `{"temperature":21.${5 + i}}`, true));
      expect(reasonOf(r)).toBe('redelivered');
      if (r.kind === 'rejected') expect(r.rejection.sensor).toBe('kitchen');
    }
    // One it never read (DUP), and a read one sent again without DUP (a steady value): read.
    expect(reasonOf(after.parse(m(13, '{"temperature":21.9}', true)))).toBe('1 readings');
    expect(reasonOf(after.parse(m(14, '{"temperature":21.5}', false)))).toBe('1 readings');
  });
});
