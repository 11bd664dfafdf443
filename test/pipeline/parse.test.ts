import { from, lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { ParseResult, RawMessage, Reading, Rejection } from '../../src/contract/types.js';
import { MessageParser, parseMessages, parseTimestamp, preview, type ParseOptions } from '../../src/pipeline/parse.js';
import { compileSensorPattern } from '../../src/pipeline/topic.js';

const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);

function parser(over: Partial<ParseOptions> = {}): MessageParser {
  return new MessageParser({
    sensorOf: compileSensorPattern('sensors/{sensor}'),
    maxPayloadBytes: 1024,
    maxFutureMs: 60_000,
    outOfOrderToleranceMs: 5_000,
    maxReadingsPerMessage: 100,
    longBurst: 'split',
    window: 4,
    ...over,
  });
}

function msg(payload: string | Buffer, receivedAt = NOW, topic = 'sensors/s1'): RawMessage {
  return { topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, receivedAt };
}

function hasControlChar(text: string): boolean {
  return [...text].some((ch) => ch.charCodeAt(0) < 0x20);
}

function readings(r: ParseResult): readonly Reading[] {
  if (r.kind !== 'readings') throw new Error(`expected readings, got rejection ${r.rejection.reason}: ${r.rejection.detail}`);
  return r.readings;
}

function rejection(r: ParseResult): Rejection {
  if (r.kind !== 'rejected') throw new Error(`expected a rejection, got ${r.readings.length} readings`);
  return r.rejection;
}

describe('MessageParser: single readings', () => {
  it('parses a bare number at receivedAt with channel value', () => {
    const [r] = readings(parser().parse(msg('21.5')));
    expect(r).toEqual({ sensor: 's1', ts: NOW, channels: ['value'], values: [21.5] });
  });

  it('parses value objects with ts, timestamp or time, in ms, seconds or ISO 8601', () => {
    const p = parser();
    const t = NOW - 10_000;
    expect(readings(p.parse(msg(`{"value": 1, "ts": ${t}}`)))[0].ts).toBe(t);
    expect(readings(p.parse(msg(`{"value": 2, "timestamp": ${(t + 1000) / 1000}}`)))[0].ts).toBe(t + 1000);
    expect(readings(p.parse(msg(`{"value": 3, "time": "${new Date(t + 2000).toISOString()}"}`)))[0].ts).toBe(t + 2000);
  });

  it('reads ISO strings without an offset as UTC and honours explicit offsets', () => {
    expect(parseTimestamp('2026-11-25T10:00:00')).toBe(NOW);
    expect(parseTimestamp('2026-11-25T11:00:00+01:00')).toBe(NOW);
    expect(parseTimestamp('2026-11-25T11:00:00+0100')).toBe(NOW);
    expect(parseTimestamp('2026-11-25 10:00:00.250Z')).toBe(NOW + 250);
    expect(parseTimestamp('yesterday')).toBeNaN();
    expect(parseTimestamp(12345)).toBeNaN(); // 1970: a device counting from boot
    expect(parseTimestamp(true)).toBeNaN();
  });

  it('accepts numeric strings but not other strings', () => {
    expect(readings(parser().parse(msg('"21.5"')))[0].values).toEqual([21.5]);
    expect(rejection(parser().parse(msg('"warm"'))).reason).toBe('not_a_number');
    expect(rejection(parser().parse(msg('{"value": "warm"}'))).reason).toBe('not_a_number');
    expect(rejection(parser().parse(msg('true'))).reason).toBe('not_a_number');
    // null is a missing reading: no reading, and nothing to reject
    expect(readings(parser().parse(msg('null')))).toEqual([]);
  });

  it('makes every numeric field its own one-value stream <sensor>/<field>, ignoring metadata', () => {
    const rs = readings(parser().parse(msg(`{"ts": ${NOW - 1}, "temp": 21.5, "hum": "40", "unit": "C", "ok": true}`)));
    expect(rs).toEqual([
      { sensor: 's1/temp', source: 's1', ts: NOW - 1, channels: ['value'], values: [21.5] },
      { sensor: 's1/hum', source: 's1', ts: NOW - 1, channels: ['value'], values: [40] },
    ]);
  });

  it('keeps the value field (any case) as the sensor itself, and other time key spellings as the time', () => {
    const [r] = readings(parser().parse(msg('{"Tag":"boiler","Value":57.4,"Timestamp":1764064000}')));
    expect(r).toEqual({ sensor: 's1', ts: 1764064000_000, channels: ['value'], values: [57.4] });
  });

  it('never locks a stream out: a null, missing, late or unreadable field only misses its own stream', () => {
    const p = parser();
    const streams = (payload: string, at = NOW): string[] => readings(p.parse(msg(payload, at))).map((r) => `${r.sensor}=${r.values[0]}`);
    expect(streams('{"battery":93.5,"humidity":43.5,"temperature":null}')).toEqual(['s1/battery=93.5', 's1/humidity=43.5']);
    expect(streams('{"battery":93,"humidity":44,"temperature":21.5}', NOW + 1)).toEqual(['s1/battery=93', 's1/humidity=44', 's1/temperature=21.5']);
    expect(streams('{"humidity":45,"temperature":21.6,"last_seen":1764064000000}', NOW + 2)).toEqual(['s1/humidity=45', 's1/temperature=21.6', 's1/last_seen=1764064000000']);
    const r = p.parse(msg('{"humidity":"4x.5","temperature":"NaN","pressure":1000}', NOW + 3));
    expect(readings(r).map((x) => x.sensor)).toEqual(['s1/pressure']);
    expect(r.kind === 'readings' && r.rejections.map((x) => [x.sensor, x.reason])).toEqual([['s1/temperature', 'non_finite']]);
    expect(streams('{"humidity":46,"temperature":21.7}', NOW + 4)).toEqual(['s1/humidity=46', 's1/temperature=21.7']);
    // a bare number on the same topic is the sensor's own stream, next to its fields
    expect(streams('7', NOW + 5)).toEqual(['s1=7']);
  });

  it('advises what can fix a time ahead of arrival: an epoch time a whole number of hours ahead is no ingest.timezone matter (tryout 38, finding 13)', () => {
    // Local time (Europe/Berlin, +1 h) stamped as if it were UTC epoch: ingest.timezone cannot fix an epoch time.
    const epoch = rejection(parser().parse(msg(`{"a": 1, "ts": ${NOW + 3_600_000 - 2000}}`)));
    expect(epoch.reason).toBe('future_timestamp');
    expect(epoch.detail).toContain('about 1 h ahead, a time zone');
    expect(epoch.detail).toContain('an epoch time (a number, or a text with Z or an offset) is UTC whatever ingest.timezone says');
    expect(epoch.detail).toContain('must send UTC epoch instead');
    // A clock ahead by other than whole hours: the device's clock, not a zone.
    const clock = rejection(parser().parse(msg(`{"a": 1, "ts": ${NOW + 25 * 60_000}}`)));
    expect(clock.reason).toBe('future_timestamp');
    expect(clock.detail).toMatch(/ahead of arrival: the device clock is ahead: set it \(NTP\)$/);
    expect(clock.detail).not.toContain('ingest.timezone');
  });

  it('creates no state for a rejected first reading', () => {
    const p = parser({ maxSensors: 1 });
    expect(rejection(p.parse(msg(`{"a": 1, "ts": ${NOW + 3_600_000}}`))).reason).toBe('future_timestamp');
    expect(p.snapshot('s1/a')).toBeNull();
    expect(p.streams).toBe(0);
    expect(readings(p.parse(msg('{"b": 1}')))[0].sensor).toBe('s1/b');
  });

  it("reads the whole object as one multi-channel reading with objects: 'channels' (replay of multi-column files)", () => {
    const p = parser({ objects: 'channels' });
    const [r] = readings(p.parse(msg(`{"ts": ${NOW - 1}, "temp": 21.5, "hum": "40", "unit": "C"}`)));
    expect(r).toEqual({ sensor: 's1', ts: NOW - 1, channels: ['hum', 'temp'], values: [40, 21.5] });
    // a null channel (a replayed empty cell) makes the instant missing: no reading, no rejection
    expect(readings(p.parse(msg('{"temp": 5, "hum": null}')))).toEqual([]);
  });
});

describe('MessageParser: the range of a value', () => {
  it('takes values up to ±1e15 and timestamps in µs beyond it', () => {
    const p = parser();
    expect(readings(p.parse(msg('1e15'))).map((r) => r.values[0])).toEqual([1e15]);
    expect(readings(p.parse(msg('{"value": -1e15}', NOW + 1))).map((r) => r.values[0])).toEqual([-1e15]);
    expect(readings(p.parse(msg(`{"ts": ${(NOW + 2) * 1000}, "value": 3}`, NOW + 2))).map((r) => [r.ts, r.values[0]])).toEqual([[NOW + 2, 3]]);
  });
});

describe('MessageParser: rejections', () => {
  it.each([
    ['', 'empty'],
    ['   \n', 'empty'],
    ['{"value": 1', 'bad_json'],
    ['21,5', 'bad_json'],
    ['NaN', 'non_finite'],
    ['-Infinity', 'non_finite'],
    ['"NaN"', 'non_finite'],
    ['1e999', 'non_finite'],
    ['{"value": 1e999}', 'non_finite'],
    ['{"hum": "nan"}', 'non_finite'],
    // A finite value no sensor reads (a glitch, 1e308): it would overflow the stream's statistics.
    ['1e308', 'out_of_range'],
    ['-2e15', 'out_of_range'],
    ['"1e100"', 'out_of_range'],
    ['{"value": 1e100}', 'out_of_range'],
    [`{"ts": ${NOW}, "value": 1e20}`, 'out_of_range'],
    ['{"values": [1e300], "interval_ms": 1000}', 'out_of_range'],
    ['{"temperature": 21.5e200}', 'out_of_range'],
    ['{"unit": "C", "ts": 1764064800000}', 'not_a_number'],
    ['{"value": 1, "ts": "soon"}', 'bad_timestamp'],
    // Before 1970 (less a day) is no clock at all; 1970 to 2000 is a clock never set (stamped on arrival, below).
    ['{"value": 1, "ts": -5000000}', 'bad_timestamp'],
    ['{"values": [1, 2], "ts": 5, "interval_ms": 1000}', 'bad_timestamp'],
    ['{"value": 1, "ts": {}}', 'bad_timestamp'],
  ])('rejects %j as %s', (payload, reason) => {
    const r = rejection(parser().parse(msg(payload)));
    expect(r.reason).toBe(reason);
    expect(r.sensor === 's1' || r.sensor?.startsWith('s1/')).toBe(true);
    expect(r.topic).toBe('sensors/s1');
    expect(r.receivedAt).toBe(NOW);
  });

  it('stamps a one-object payload with a clock never set (before 2000) on arrival, and reports it per message, first once per device', () => {
    const calls: [string, string, boolean][] = [];
    const p = parser({ onUnsetClock: (sensor, time, first) => calls.push([sensor, time, first]) });
    const payloads = ['{"value": 1, "ts": 5}', '{"value": 2, "time": "1970-01-01T00:00:12"}'];
    payloads.forEach((payload, i) => {
      const r = p.parse(msg(payload, NOW + i * 1000));
      expect(r.kind === 'readings' && r.readings.map((x) => [x.sensor, x.ts, x.values[0]])).toEqual([['s1', NOW + i * 1000, i + 1]]);
    });
    expect(calls).toEqual([
      ['s1', '5', true],
      ['s1', '1970-01-01T00:00:12', false],
    ]);
  });

  it('rejects a topic that does not match, without a sensor', () => {
    const r = rejection(parser().parse(msg('1', NOW, 'elsewhere/s1')));
    expect(r).toMatchObject({ reason: 'bad_topic', sensor: null });
  });

  it('rejects an oversize payload by its byte length without decoding it all', () => {
    const big = Buffer.alloc(1025, 0x31);
    const r = rejection(parser().parse(msg(big)));
    expect(r.reason).toBe('oversize');
    expect(r.detail).toContain('1025 bytes');
    expect(r.detail.length).toBeLessThan(160);
    // multi-byte characters: the limit is on bytes, not characters
    expect(rejection(parser({ maxPayloadBytes: 10 }).parse(msg('"ééééé1"'))).reason).toBe('oversize');
  });

  it('rejects timestamps too far in the future, relative to receivedAt', () => {
    const p = parser();
    // Within maxFutureMs, a first reading this far ahead of arrival is held, not rejected (see 'a device clock').
    expect(p.parse(msg(`{"value": 1, "ts": ${NOW + 60_000}}`))).toEqual({ kind: 'readings', readings: [], rejections: [] });
    expect(rejection(p.parse(msg(`{"value": 1, "ts": ${NOW + 60_001}}`))).reason).toBe('future_timestamp');
  });

  it('rejects readings older than the last one: out_of_order beyond the tolerance, late or redelivered within it', () => {
    const p = parser();
    readings(p.parse(msg(`{"value": 0, "ts": ${NOW - 3_000}}`)));
    readings(p.parse(msg(`{"value": 1, "ts": ${NOW}}`)));
    const late = rejection(p.parse(msg(`{"value": 2, "ts": ${NOW - 5_000}}`)));
    expect([late.reason, late.ts]).toEqual(['late', NOW - 5_000]);
    expect(late.detail).toContain('5000 ms older than the stream');
    const again = rejection(p.parse(msg(`{"value": 0, "ts": ${NOW - 3_000}}`)));
    expect([again.reason, again.ts]).toEqual(['redelivered', NOW - 3_000]);
    // The newest's own time is taken (the detector tells a duplicate from a reading of its own sharing the ms).
    expect(readings(p.parse(msg(`{"value": 1, "ts": ${NOW}}`)))[0].ts).toBe(NOW);
    expect(rejection(p.parse(msg(`{"value": 3, "ts": ${NOW - 5_001}}`))).reason).toBe('out_of_order');
    // a rejected reading does not move the sensor's clock
    expect(readings(p.parse(msg(`{"value": 4, "ts": ${NOW + 1}}`)))[0].ts).toBe(NOW + 1);
  });

  it('rejects times beyond what a Date can show without throwing', () => {
    // 9e18 is read as epoch ns (year 2255): ahead of arrival. Past the last valid Date it is no time at all.
    expect(rejection(parser().parse(msg('{"value": 1, "ts": 9e18}'))).reason).toBe('future_timestamp');
    expect(rejection(parser().parse(msg('{"value": 1, "ts": 9e24}'))).reason).toBe('bad_timestamp');
    const burst = rejection(parser().parse(msg('{"values": [1, 2], "ts": 1764064800000, "interval_ms": 1e308}')));
    expect(burst.reason).toBe('bad_timestamp');
  });

  it('caps the number of sensors it tracks', () => {
    const p = parser({ maxSensors: 2 });
    readings(p.parse(msg('1', NOW, 'sensors/a')));
    readings(p.parse(msg('1', NOW, 'sensors/b')));
    expect(rejection(p.parse(msg('1', NOW, 'sensors/c'))).reason).toBe('too_many_streams');
    expect(readings(p.parse(msg('2', NOW, 'sensors/a')))).toHaveLength(1);
  });

  it('keeps details to one short line with an escaped payload prefix', () => {
    const nasty = `{"value": "\n${'x'.repeat(500)}\u001b[31m"`;
    const r = rejection(parser().parse(msg(nasty)));
    expect(hasControlChar(r.detail)).toBe(false);
    const quoted = /"(.*)"/.exec(r.detail);
    expect(quoted).not.toBeNull();
    expect(quoted![1].length).toBeLessThanOrEqual(64);
  });
});

describe('preview', () => {
  it('returns short text unchanged and cuts long text to at most 64 characters', () => {
    expect(preview('abc')).toBe('abc');
    expect(preview('y'.repeat(64))).toBe('y'.repeat(64));
    const cut = preview('y'.repeat(65));
    expect(cut.length).toBeLessThanOrEqual(64);
    expect(cut.endsWith('…')).toBe(true);
  });

  it('escapes control characters, quotes and backslashes', () => {
    expect(preview('a\nb"c\\d\u0000')).toBe('a\\nb\\"c\\\\d\\u0000');
    const escapedRun = preview('\u0001'.repeat(40));
    expect(escapedRun.length).toBeLessThanOrEqual(64);
    expect(hasControlChar(escapedRun)).toBe(false);
  });
});

describe('MessageParser: bursts', () => {
  it('spaces {values, ts, interval_ms} from the first reading', () => {
    const rs = readings(parser().parse(msg(`{"values": [1, 2, 3], "ts": ${NOW - 100}, "interval_ms": 10}`)));
    expect(rs.map((r) => r.ts)).toEqual([NOW - 100, NOW - 90, NOW - 80]);
    expect(rs.map((r) => r.values[0])).toEqual([1, 2, 3]);
  });

  it('puts the last reading of a burst without ts at receivedAt', () => {
    const rs = readings(parser().parse(msg('{"values": [1, 2, 3], "interval_ms": 10}')));
    expect(rs.map((r) => r.ts)).toEqual([NOW - 20, NOW - 10, NOW]);
  });

  it('rejects a burst it cannot place in time', () => {
    expect(rejection(parser().parse(msg(`{"values": [1, 2], "ts": ${NOW}}`))).reason).toBe('bad_timestamp');
    expect(rejection(parser().parse(msg('[1, 2, 3]'))).detail).toContain('without timestamps');
    expect(rejection(parser().parse(msg('{"values": [1, 2], "interval_ms": -5}'))).reason).toBe('bad_timestamp');
    // one element needs no interval
    expect(readings(parser().parse(msg('{"values": [7]}')))[0]).toMatchObject({ ts: NOW, values: [7] });
    expect(readings(parser().parse(msg('[7]')))[0]).toMatchObject({ ts: NOW, values: [7] });
  });

  it('takes arrays of timestamped objects, multi-channel too, sorted by time', () => {
    const payload = JSON.stringify([
      { ts: NOW - 1000, a: 2, b: 20 },
      { ts: NOW - 2000, a: 1, b: 10 },
      { ts: NOW, b: 30, a: 3 },
    ]);
    const rs = readings(parser().parse(msg(payload)));
    expect(rs.map((r) => [r.sensor, r.ts, r.values[0]])).toEqual([
      ['s1/a', NOW - 2000, 1],
      ['s1/b', NOW - 2000, 10],
      ['s1/a', NOW - 1000, 2],
      ['s1/b', NOW - 1000, 20],
      ['s1/b', NOW, 30],
      ['s1/a', NOW, 3],
    ]);
    const multi = readings(parser({ objects: 'channels' }).parse(msg(payload)));
    expect(multi.map((r) => r.values)).toEqual([[1, 10], [2, 20], [3, 30]]);
  });

  it('keeps the good elements and rejects the bad ones individually', () => {
    const payload = `[{"value": 1, "ts": ${NOW - 3000}}, 2.5, {"value": "NaN", "ts": ${NOW - 2000}}, {"value": 4, "ts": ${NOW - 1000}}, {"other": 1, "ts": ${NOW}}]`;
    const r = parser().parse(msg(payload));
    expect(r.kind).toBe('readings');
    if (r.kind !== 'readings') return;
    expect(r.readings.map((x) => `${x.sensor}=${x.values[0]}`)).toEqual(['s1=1', 's1=4', 's1/other=1']);
    expect(r.rejections.map((x) => x.reason).sort()).toEqual(['bad_timestamp', 'non_finite']);
    expect(r.rejections.find((x) => x.reason === 'non_finite')!.detail).toMatch(/^element 2:/);
  });

  it('rejects a burst above maxReadingsPerMessage whole, and an empty one', () => {
    const values = Array.from({ length: 101 }, (_, i) => i);
    expect(rejection(parser().parse(msg(JSON.stringify({ values, interval_ms: 1 })))).reason).toBe('too_many_readings');
    expect(rejection(parser().parse(msg('[]'))).reason).toBe('empty');
    expect(rejection(parser().parse(msg('{"values": []}'))).reason).toBe('empty');
  });

  it("'split' keeps every reading of a long burst", () => {
    const values = Array.from({ length: 10 }, (_, i) => i);
    const r = parser({ longBurst: 'split' }).parse(msg(JSON.stringify({ values, interval_ms: 100 })));
    expect(readings(r)).toHaveLength(10);
    expect(r.kind === 'readings' && r.rejections).toHaveLength(0);
  });

  it("'truncate' keeps the last `window` readings at their own times and reports the drop once", () => {
    const values = Array.from({ length: 10 }, (_, i) => i);
    const r = parser({ longBurst: 'truncate', window: 4 }).parse(msg(JSON.stringify({ values, interval_ms: 100 })));
    expect(r.kind).toBe('readings');
    if (r.kind !== 'readings') return;
    expect(r.readings.map((x) => x.values[0])).toEqual([6, 7, 8, 9]);
    expect(r.readings.map((x) => x.ts)).toEqual([NOW - 300, NOW - 200, NOW - 100, NOW]);
    expect(r.rejections).toHaveLength(1);
    expect(r.rejections[0].reason).toBe('too_many_readings');
    expect(r.rejections[0].detail).toContain('6 dropped');
  });

  it('applies the out-of-order check across bursts', () => {
    const p = parser();
    readings(p.parse(msg(`{"values": [1, 2], "ts": ${NOW - 1000}, "interval_ms": 1000}`)));
    const r = p.parse(msg(`{"values": [3, 4, 5], "ts": ${NOW - 9_000}, "interval_ms": 4500}`));
    // 3 at -9 s is too old; 4 at -4.5 s is within the 5 s tolerance but older than NOW (late); 5 is at NOW
    expect(r.kind).toBe('readings');
    if (r.kind !== 'readings') return;
    expect(r.rejections.map((x) => x.reason)).toEqual(['out_of_order', 'late']);
    expect(r.readings.map((x) => [x.values[0], x.ts])).toEqual([[5, NOW]]);
    // The first burst again (its readings re-sent): both times were read, both redelivered, none judged twice.
    const again = p.parse(msg(`{"values": [1, 2], "ts": ${NOW - 1000}, "interval_ms": 1000}`));
    expect(again.kind === 'readings' ? again.rejections.map((x) => x.reason) : again.kind === 'rejected' ? [again.rejection.reason] : []).toEqual(['redelivered']);
    if (again.kind === 'readings') expect(again.readings.map((x) => [x.values[0], x.ts])).toEqual([[2, NOW]]);
  });
});

describe('parseMessages', () => {
  it('maps every message to one result and survives bad ones', async () => {
    const p = parser();
    const out = await lastValueFrom(from([msg('1'), msg('oops'), msg('2', NOW + 1000)]).pipe(parseMessages(p), toArray()));
    expect(out.map((r) => r.kind)).toEqual(['readings', 'rejected', 'readings']);
  });
});

describe('parseMessages (marbles)', () => {
  it('emits one result per message, in time, and completes with the source', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a--b-c|', { a: msg('1'), b: msg('{"value":'), c: msg('2', NOW + 1000) });
      const out = source.pipe(parseMessages(parser()));
      expectObservable(out).toBe('-x--y-z|', {
        x: { kind: 'readings', readings: [{ sensor: 's1', ts: NOW, channels: ['value'], values: [1] }], rejections: [] },
        y: { kind: 'rejected', rejection: { sensor: 's1', topic: 'sensors/s1', reason: 'bad_json', detail: 'not JSON or a number: "{\\"value\\":"', receivedAt: NOW } },
        z: { kind: 'readings', readings: [{ sensor: 's1', ts: NOW + 1000, channels: ['value'], values: [2] }], rejections: [] },
      });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });
});

describe('MessageParser snapshot/restore', () => {
  function roundTrip(p: MessageParser, sensor: string): unknown {
    return JSON.parse(JSON.stringify(p.snapshot(sensor))) as unknown;
  }

  it('keeps each stream\'s last time across a restart', () => {
    const before = parser();
    readings(before.parse(msg('{"ts": 1764063998000, "temp": 0, "hum": 1}', NOW)));
    readings(before.parse(msg('{"ts": 1764064000000, "temp": 1, "hum": 2}', NOW)));
    const after = parser();
    for (const s of ['s1/temp', 's1/hum']) after.restore(s, roundTrip(before, s));
    expect(rejection(after.parse(msg('{"ts": 1764063990000, "temp": 1}', NOW))).reason).toBe('out_of_order');
    // Within the tolerance a late reading is not taken, as it would not have been without the restart: `late` at a
    // time not read, `redelivered` at one read before the restart (a QoS 1 message re-sent at the reconnect).
    expect(rejection(after.parse(msg('{"ts": 1764063999000, "temp": 1}', NOW))).reason).toBe('late');
    expect(rejection(after.parse(msg('{"ts": 1764063998000, "temp": 0}', NOW))).reason).toBe('redelivered');
    expect(readings(after.parse(msg('{"ts": 1764064000000, "temp": 1}', NOW)))[0].ts).toBe(1764064000000);
    // A new field after the restart is just a new stream.
    expect(readings(after.parse(msg('{"ts": 1764064000500, "pressure": 3}', NOW)))[0].sensor).toBe('s1/pressure');
  });

  it('reads the older per-sensor snapshot and drops its channel set', () => {
    const p = parser();
    p.restore('s1', { format: 'anomalyd-parser/1', channels: ['hum', 'temp'], lastTs: NOW });
    expect(rejection(p.parse(msg(`{"value": 1, "ts": ${NOW - 10_000}}`))).reason).toBe('out_of_order');
    expect(readings(p.parse(msg(`{"value": 1, "ts": ${NOW + 1}}`)))[0].channels).toEqual(['value']);
  });

  it('gives the same results after a restore as the uninterrupted parser, message by message', () => {
    const payloads = ['{"value": 1, "ts": 1764064000000}', '2', '{"values": [3, 4], "ts": 1764064001000, "interval_ms": 10}', '"x"', '{"value": 5, "ts": 1764063999000}'];
    const whole = parser();
    const expected = payloads.map((p, i) => whole.parse(msg(p, NOW + i)));
    for (let k = 0; k <= payloads.length; k++) {
      const before = parser();
      const got = payloads.slice(0, k).map((p, i) => before.parse(msg(p, NOW + i)));
      const after = parser();
      if (before.snapshot('s1') !== null) after.restore('s1', roundTrip(before, 's1'));
      got.push(...payloads.slice(k).map((p, i) => after.parse(msg(p, NOW + k + i))));
      expect(got).toEqual(expected);
    }
  });

  it('returns null for an unknown sensor and refuses malformed snapshots', () => {
    const p = parser();
    expect(p.snapshot('s1')).toBeNull();
    p.parse(msg('"not a number"'));
    expect(p.snapshot('s1')).toBeNull();
    p.parse(msg('5'));
    expect(p.snapshot('s1')).toEqual({ format: 'anomalyd-parser/3', lastTs: NOW, source: 's1', lead: [0, null, 1, NOW], held: [], recent: [NOW] });
    expect(() => p.restore('s1', { format: 'anomalyd-parser/2', lastTs: 'soon' })).toThrow(/lastTs/);
    expect(() => p.restore('s1', { format: 'anomalyd-parser/3', lastTs: NOW, source: 's1', lead: [0, null, 99, NOW], held: [] })).toThrow(/lead/);
    expect(() => p.restore('s1', { format: 'anomalyd-parser/3', lastTs: NOW, source: 's1', lead: [0, null, 1, NOW], held: [{ ts: NOW }] })).toThrow(/held/);
    expect(() => p.restore('s1', { lastTs: 5 })).toThrow(/anomalyd-parser/);
  });
});

describe('MessageParser: one bad message never stops the stream', () => {
  it('turns an exception in any stage into that message’s internal_error naming the stage, and goes on', async () => {
    const { compileRule } = await import('../../src/pipeline/route.js');
    const { RULE_DEFAULTS } = await import('../../src/contract/ingest.js');
    const rule = compileRule({ ...RULE_DEFAULTS, name: 'r', topics: ['sensors/{sensor}'] }, 'UTC');
    let explode: 'route' | 'map' | null = null;
    const p = new MessageParser({
      ...{ maxPayloadBytes: 1024, maxFutureMs: 60_000, outOfOrderToleranceMs: 5_000, maxReadingsPerMessage: 100, longBurst: 'split' as const, window: 4 },
      rules: [
        {
          ...rule,
          templates: [
            (topic: string) => {
              if (explode === 'route') throw new Error('boom');
              return rule.templates[0](topic);
            },
          ],
          takes: (field: string) => {
            if (explode === 'map') throw new TypeError('bang');
            return rule.takes(field);
          },
        },
      ],
    });
    explode = 'route';
    expect(rejection(p.parse(msg('1'))).detail).toBe('route: Error: boom');
    explode = 'map';
    const r = rejection(p.parse(msg('{"a": 1}')));
    expect(r).toMatchObject({ reason: 'internal_error', detail: 'map: TypeError: bang' });
    explode = null;
    expect(readings(p.parse(msg('{"a": 2}')))[0]).toMatchObject({ sensor: 's1/a', values: [2] });
  });
});
