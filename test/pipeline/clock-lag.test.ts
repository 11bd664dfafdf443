/**
 * Tryout 13 #9: a device clock an hour (or whole hours) behind arrival, a time zone mix-up (Tasmota's `Time` in
 * London time, the daemon's ingest.timezone Berlin), was taken silently: its plots and sentences an hour off. The
 * parser now reports such a stream once, after several readings that lag alike over some minutes, and takes the
 * readings exactly as before. Through the real parser built from a Config (tasmota preset), and ClockLag itself.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ParseResult, RawMessage } from '../../src/contract/types.js';
import { parseOptionsOf } from '../../src/pipeline/ingest-options.js';
import { MessageParser } from '../../src/pipeline/parse.js';
import { ClockLag, HOUR_MS, LAG_READINGS, LAG_SPAN_MS, type OnClockLag } from '../../src/pipeline/clock-lag.js';

const T0 = Date.UTC(2026, 10, 30, 21, 0, 0);
const TELE_PERIOD_MS = 300_000;

function parser(onClockLag?: OnClockLag): MessageParser {
  const r = loadConfig({ overrides: { ingest: { timezone: 'Europe/Berlin', presets: ['tasmota'] } }, env: {}, path: '/dev/null' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return new MessageParser(parseOptionsOf(r.config, onClockLag === undefined ? {} : { onClockLag }));
}

/** Tasmota's SENSOR message at arrival `at`, its `Time` written in `zone` (what the device was set to). */
function tele(device: string, at: number, zone: string, delayMs = 1000): RawMessage {
  const local = new Date(at - delayMs).toLocaleString('sv-SE', { timeZone: zone }).replace(' ', 'T');
  return { topic: `tele/${device}/SENSOR`, payload: Buffer.from(`{"Time":"${local}","AM2301":{"Temperature":21.7,"Humidity":45.3},"TempUnit":"C"}`), receivedAt: at };
}

describe('a device clock hours behind arrival', () => {
  it('is reported once per stream after several readings over ten minutes, and every reading is taken as before', () => {
    const told: string[] = [];
    const watched = parser((s, h, lag) => told.push(`${s} ${h} ${Math.round(lag / 60_000)}`));
    const plain = parser();
    const results: [ParseResult, ParseResult][] = [];
    for (let i = 0; i < 12; i++) {
      // London is an hour behind Berlin in November: the device's times read in Berlin lag arrival by 1 h.
      const m = tele('london', T0 + i * TELE_PERIOD_MS, 'Europe/London');
      results.push([watched.parse(m), plain.parse(m)]);
      // LAG_READINGS readings over at least LAG_SPAN_MS (the fifth arrives 20 min after the first).
      if (i === LAG_READINGS - 2) expect(told).toEqual([]);
    }
    expect(told.sort()).toEqual(['london/AM2301.Humidity 1 60', 'london/AM2301.Temperature 1 60']);
    // Only observed: the very same results as without it, every reading taken at its (lagging) device time.
    for (const [a, b] of results) expect(a).toEqual(b);
    const first = results[0][0];
    expect(first.kind === 'readings' && first.readings.map((r) => T0 - r.ts)).toEqual([HOUR_MS + 1000, HOUR_MS + 1000]);
    // A device in the right zone is not reported.
    const berlin: string[] = [];
    const p = parser((s) => berlin.push(s));
    for (let i = 0; i < 12; i++) p.parse(tele('berlin', T0 + i * TELE_PERIOD_MS, 'Europe/Berlin'));
    expect(berlin).toEqual([]);
  });

  it("says which report is its device's first, so the daemon warns once per device, not per field (tryout 14, finding 9)", () => {
    const told: string[] = [];
    const p = parser((s, _h, _lag, device, first) => told.push(`${s} ${device} ${first}`));
    for (let i = 0; i < 12; i++) {
      const at = T0 + i * TELE_PERIOD_MS;
      p.parse(tele('london', at, 'Europe/London'));
      p.parse(tele('dublin', at, 'Europe/Dublin'));
    }
    // Every stream is reported (counted per stream), only one per device as its first.
    expect(told.filter((t) => t.endsWith(' true')).map((t) => t.split(' ')[1]).sort()).toEqual(['dublin', 'london']);
    expect(told.sort()).toEqual([
      expect.stringMatching(/^dublin\/AM2301\.Humidity dublin (true|false)$/),
      expect.stringMatching(/^dublin\/AM2301\.Temperature dublin (true|false)$/),
      expect.stringMatching(/^london\/AM2301\.Humidity london (true|false)$/),
      expect.stringMatching(/^london\/AM2301\.Temperature london (true|false)$/),
    ]);
    // Once all of a device's streams are forgotten (evicted), its next report is a first again; not before.
    const lag = new ClockLag((s, _h, _lag, device, first) => told.push(`${s} ${device} ${first}`));
    told.length = 0;
    const feed = (from: number, streams: readonly string[]): void => {
      for (let i = from; i < from + 10; i++) for (const s of streams) lag.observe(s, T0 + i * TELE_PERIOD_MS - HOUR_MS, T0 + i * TELE_PERIOD_MS, 'plug');
    };
    feed(0, ['plug/ENERGY.Power', 'plug/ENERGY.Voltage']);
    expect(told).toEqual(['plug/ENERGY.Power plug true', 'plug/ENERGY.Voltage plug false']);
    lag.forget('plug/ENERGY.Power');
    feed(10, ['plug/ENERGY.Power']);
    expect(told.at(-1)).toBe('plug/ENERGY.Power plug false');
    lag.forget('plug/ENERGY.Power');
    lag.forget('plug/ENERGY.Voltage');
    feed(20, ['plug/ENERGY.Voltage']);
    expect(told.at(-1)).toBe('plug/ENERGY.Voltage plug true');
  });

  it('names whole hours: a clock two hours behind is 2; one 30 or 80 minutes behind is none', () => {
    const told: [string, number][] = [];
    const lag = new ClockLag((s, h) => told.push([s, h]));
    for (let i = 0; i < 15; i++) {
      const at = T0 + i * 60_000;
      lag.observe('two', at - 2 * HOUR_MS - 2000, at);
      lag.observe('half', at - 30 * 60_000, at);
      lag.observe('eighty', at - 80 * 60_000, at);
    }
    expect(told).toEqual([['two', 2]]);
  });

  it('is not raised by one late reading, nor by a burst of old readings arriving at once, nor by lags that disagree', () => {
    const told: string[] = [];
    const lag = new ClockLag((s) => told.push(s));
    // One reading an hour late among on-time ones, again and again.
    for (let i = 0; i < 40; i++) {
      const at = T0 + i * 60_000;
      lag.observe('late-one', i % 4 === 0 ? at - HOUR_MS : at - 500, at);
    }
    // A logger's buffer of an hour's readings flushed at once (arrival span 0), every hour.
    for (let h = 0; h < 4; h++) {
      const at = T0 + h * HOUR_MS;
      for (let s = 3600; s >= 0; s -= 10) lag.observe('burst', at - s * 1000, at);
    }
    // Lags of about an hour that wander by more than the tolerance: a queue, not a zone.
    for (let i = 0; i < 20; i++) {
      const at = T0 + i * 60_000;
      lag.observe('wander', at - HOUR_MS + (i % 2 === 0 ? -240_000 : 240_000), at);
    }
    // Four readings in a row lag alike, then it is back on time: fewer than LAG_READINGS.
    for (let i = 0; i < 10; i++) {
      const at = T0 + i * LAG_SPAN_MS;
      lag.observe('four', i < LAG_READINGS - 1 ? at - HOUR_MS : at - 500, at);
    }
    expect(told).toEqual([]);
  });

  it('follows at most maxStreams streams, and a forgotten stream is told again', () => {
    const told: string[] = [];
    const lag = new ClockLag((s) => told.push(s), 2);
    for (let i = 0; i < 10; i++) {
      const at = T0 + i * 5 * 60_000;
      for (const s of ['a', 'b', 'c']) lag.observe(s, at - HOUR_MS, at);
    }
    expect(told).toEqual(['a', 'b']);
    lag.forget('a');
    for (let i = 10; i < 20; i++) {
      const at = T0 + i * 5 * 60_000;
      lag.observe('a', at - HOUR_MS, at);
    }
    expect(told).toEqual(['a', 'b', 'a']);
  });
});
