/**
 * Device times without an offset across a DST change (issue 10, tryout 38 finding 9): a device stamping its zone's
 * wall time (`"time":"2026-10-25T02:05:00"`, ingest.timezone Europe/Berlin) sends the hour 02:00-03:00 twice when the
 * clocks go back. The daemon read every such time at one instant (the later, CET, in zones east of UTC; the earlier in
 * zones west of it): the first pass of the hour was placed an hour late, leaving a 1 h hole before it, and the second
 * pass was rejected (`late`) as older than it. `anomalyd replay --timezone` read the file's rows in order, the second
 * pass in standard time. Now the parser does as replay does, per stream, by the order its readings come in; at a DST
 * start the hour the zone skips is never written, and the readings around it are 5 min apart, as they were sent.
 */
import { describe, expect, it } from 'vitest';
import type { ParseResult, Reading } from '../../src/contract/types.js';
import { parseDeviceTime, wallTimeInstants, zoneOffsetMs } from '../../src/pipeline/decode/time.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { compileSensorPattern } from '../../src/pipeline/topic.js';

const MIN = 60_000;

/** `ts`'s wall-clock time in `zone`, ISO without an offset (as such a device writes it). */
function wallTime(ts: number, zone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(ts))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

function parser(zone: string): MessageParser {
  return new MessageParser({
    sensorOf: compileSensorPattern('sensors/{sensor}'),
    maxPayloadBytes: 1 << 20,
    maxFutureMs: 60_000,
    outOfOrderToleranceMs: 5_000,
    maxReadingsPerMessage: 2000,
    longBurst: 'split',
    window: 4,
    timezone: zone,
  });
}

function readingsOf(r: ParseResult): readonly Reading[] {
  if (r.kind !== 'readings') throw new Error(`rejected: ${r.rejection.reason}: ${r.rejection.detail}`);
  expect(r.rejections).toEqual([]);
  return r.readings;
}

/** Every `stepMs` from `from` to `to` (epoch ms, inclusive). */
function times(from: number, to: number, stepMs: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += stepMs) out.push(t);
  return out;
}

/** The DST changes checked: an end and a start, east and west of UTC, one of them a half-hour change. */
const CHANGES: ReadonlyArray<{ readonly zone: string; readonly what: string; readonly at: number }> = [
  { zone: 'Europe/Berlin', what: 'end', at: Date.UTC(2026, 9, 25, 1) },
  { zone: 'Europe/Berlin', what: 'start', at: Date.UTC(2026, 2, 29, 1) },
  { zone: 'America/New_York', what: 'end', at: Date.UTC(2026, 10, 1, 6) },
  { zone: 'America/New_York', what: 'start', at: Date.UTC(2026, 2, 8, 7) },
  { zone: 'Australia/Lord_Howe', what: 'end', at: Date.UTC(2026, 3, 4, 15) },
  { zone: 'Australia/Sydney', what: 'start', at: Date.UTC(2026, 9, 3, 16) },
];

describe('device wall times the zone repeats or skips', () => {
  it('gives both instants of a repeated wall time, earlier first, and one of any other, east or west of UTC', () => {
    const berlin = parseDeviceTime('2026-10-25T02:05:00', 'auto', 'Europe/Berlin');
    expect(berlin).toEqual({ ts: Date.UTC(2026, 9, 25, 0, 5), repeated: Date.UTC(2026, 9, 25, 1, 5) });
    const ny = parseDeviceTime('2026-11-01T01:30:00', 'auto', 'America/New_York');
    expect(ny).toEqual({ ts: Date.UTC(2026, 10, 1, 5, 30), repeated: Date.UTC(2026, 10, 1, 6, 30) });
    expect(parseDeviceTime('2026-10-25T03:00:00', 'auto', 'Europe/Berlin')).toEqual({ ts: Date.UTC(2026, 9, 25, 2) });
    expect(parseDeviceTime('2026-10-25T02:05:00+02:00', 'auto', 'Europe/Berlin')).toEqual({ ts: Date.UTC(2026, 9, 25, 0, 5) });
    // A wall time the zone skips lands after the change (read with the offset before it).
    expect(parseDeviceTime('2026-03-29T02:30:00', 'auto', 'Europe/Berlin')).toEqual({ ts: Date.UTC(2026, 2, 29, 1, 30) });
    for (const { zone, at } of CHANGES) {
      for (const t of times(at - 3 * 3_600_000, at + 3 * 3_600_000, 5 * MIN)) {
        const wall = t + zoneOffsetMs(t, zone);
        const instants = wallTimeInstants(wall, zone);
        expect(instants).toContain(t);
        for (const i of instants) expect(i === undefined ? NaN : i + zoneOffsetMs(i, zone)).toBe(wall);
      }
    }
  });

  for (const { zone, what, at } of CHANGES) {
    it(`places every reading of a stream at its instant across the DST ${what} in ${zone}, one a message or in arrays`, () => {
      const sent = times(at - 6 * 3_600_000, at + 6 * 3_600_000, 5 * MIN);
      const payload = (t: number, i: number): { time: string; temperature: number; humidity: number } => ({ time: wallTime(t, zone), temperature: 5 + Math.sin(i / 20), humidity: 80 + (i % 7) });
      // One reading a message, each arriving a second after its time.
      const one = parser(zone);
      const got: Reading[] = [];
      sent.forEach((t, i) => got.push(...readingsOf(one.parse({ topic: 'sensors/wx', payload: Buffer.from(JSON.stringify(payload(t, i))), receivedAt: t + 1000 }))));
      expect(got.filter((r) => r.sensor === 'wx/temperature').map((r) => r.ts)).toEqual(sent);
      expect(got.filter((r) => r.sensor === 'wx/humidity').map((r) => r.ts)).toEqual(sent);
      // Arrays of 7 readings (a batch boundary falls inside the repeated hour), as a gateway's backlog.
      const arrays = parser(zone);
      const batched: Reading[] = [];
      for (let k = 0; k < sent.length; k += 7) {
        const batch = sent.slice(k, k + 7);
        const body = JSON.stringify(batch.map((t, j) => payload(t, k + j)));
        batched.push(...readingsOf(arrays.parse({ topic: 'sensors/wx', payload: Buffer.from(body), receivedAt: batch[batch.length - 1] + 1000 })));
      }
      expect(batched.filter((r) => r.sensor === 'wx/temperature').map((r) => r.ts)).toEqual(sent);
      expect(batched).toEqual(got);
    });
  }

  it('reads a values burst whose first time is in the repeated hour by the stream\'s order too', () => {
    const p = parser('Europe/Berlin');
    const first = times(Date.UTC(2026, 9, 24, 23, 30), Date.UTC(2026, 9, 25, 0, 55), 5 * MIN);
    readingsOf(p.parse({ topic: 'sensors/v', payload: Buffer.from(JSON.stringify({ values: first.map((_, i) => i), time: wallTime(first[0], 'Europe/Berlin'), interval_ms: 5 * MIN })), receivedAt: first[first.length - 1] + 1000 }));
    // The second pass of 02:00-02:55 (CET), sent as one burst from 02:00.
    const second = times(Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 9, 25, 1, 55), 5 * MIN);
    const got = readingsOf(p.parse({ topic: 'sensors/v', payload: Buffer.from(JSON.stringify({ values: second.map((_, i) => i), time: '2026-10-25T02:00:00', interval_ms: 5 * MIN })), receivedAt: second[second.length - 1] + 1000 }));
    expect(got.map((r) => r.ts)).toEqual(second);
  });
});
