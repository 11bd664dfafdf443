/**
 * Device times as devices send them: epoch numbers in s, ms, µs or ns (told apart by magnitude, or fixed
 * by a rule's `timeUnit`), and ISO 8601 / `YYYY-MM-DD hh:mm:ss` strings. A string without an offset is a
 * wall-clock time in the device's zone (`ingest.timezone`, an IANA name; default the host's zone), which
 * is how Tasmota, rtl_433 and most loggers write it. The hour such a zone repeats when its clocks go back (02:00-03:00
 * on the last Sunday of October in Europe/Berlin) has two readings: `parseDeviceTime` gives both (`ts` the earlier,
 * `repeated` the later), and the parser picks per stream by the order the readings come in (../parse.ts,
 * resolveRepeated), as `anomalyd replay` does for a file (src/csv/time.ts, src/csv/table.ts). A wall time the zone
 * skips (clocks go forward) is read with the offset before the change, so it lands after the change.
 */
import type { TimeUnit } from '../../contract/ingest.js';
import { numberFromText } from './text.js';

export type { TimeUnit } from '../../contract/ingest.js';

/** 2000-01-01T00:00:00Z: an earlier time is a device counting from boot, not a clock. */
export const MIN_TS = 946_684_800_000;
const DAY_MS = 86_400_000;
/** Beyond ±8.64e15 ms a Date is invalid. */
const MAX_DATE_MS = 8.64e15;

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The host's IANA zone (what `ingest.timezone: null` means). */
export function systemTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Epoch-number magnitudes: 1e11 s is the year 5138, 1e14 ms the year 5138, 1e17 µs likewise. */
function epochMs(n: number, unit: TimeUnit): number {
  switch (unit) {
    case 's':
      return n * 1000;
    case 'ms':
      return n;
    case 'us':
      return n / 1000;
    case 'ns':
      return n / 1e6;
    case 'iso':
      return NaN;
    case 'auto': {
      const a = Math.abs(n);
      if (a < 1e11) return n * 1000;
      if (a < 1e14) return n;
      if (a < 1e17) return n / 1000;
      return n / 1e6;
    }
  }
}

/**
 * Epoch ms of a device time, or NaN when it is not one (or before 2000). `zone` is the IANA zone of an
 * ISO string without an offset; a wall time that zone repeats reads as its earlier instant (parseDeviceTime
 * gives both).
 */
export function parseTimestamp(raw: unknown, unit: TimeUnit = 'auto', zone = 'UTC'): number {
  return parseDeviceTime(raw, unit, zone).ts;
}

/** A device time: `ts` epoch ms (NaN when it is none, or before 2000); `repeated` as in parseDeviceTime. */
export interface DeviceTime {
  readonly ts: number;
  /**
   * For a wall time without an offset that `zone` repeats (the hour its clocks go back): the later instant, epoch ms,
   * one offset change after `ts` (an hour in most zones); absent for any other time.
   */
  readonly repeated?: number;
}

/**
 * A device time (see parseTimestamp), and, for a wall time without an offset that `zone` repeats when its clocks
 * go back, its later instant (`repeated`): the reader of a stream takes the later one when the earlier would go
 * back in the stream's time (../parse.ts, resolveRepeated).
 */
export function parseDeviceTime(raw: unknown, unit: TimeUnit = 'auto', zone = 'UTC'): DeviceTime {
  let ms: number;
  let later: number | undefined;
  if (typeof raw === 'number') {
    ms = epochMs(raw, unit);
  } else if (typeof raw === 'string') {
    if (raw.length > 64) return NOT_A_TIME;
    const n = unit === 'iso' ? NaN : numberFromText(raw, '.');
    if (Number.isFinite(n)) ms = epochMs(n, unit);
    else if (unit === 'auto' || unit === 'iso') [ms, later] = isoMs(raw.trim(), zone);
    else ms = NaN;
  } else {
    return NOT_A_TIME;
  }
  if (!(Number.isFinite(ms) && ms >= MIN_TS && ms <= MAX_DATE_MS)) return NOT_A_TIME;
  const ts = Math.round(ms * 1000) / 1000;
  return later === undefined ? { ts } : { ts, repeated: Math.round(later * 1000) / 1000 };
}

const NOT_A_TIME: DeviceTime = { ts: NaN };

/**
 * Whether `raw` is a device time that reads as a date from 1970-01-01 up to 2000 (before MIN_TS): a clock
 * never set, such as Tasmota's `"Time":"1970-01-01T00:00:12"` without NTP (arendst/Tasmota #2571, #4152),
 * or an epoch counted from boot. `parseTimestamp` gives NaN for it; a single-object payload is then stamped
 * on arrival instead of rejected (./record.ts, timeOf).
 */
export function isUnsetClock(raw: unknown, unit: TimeUnit = 'auto', zone = 'UTC'): boolean {
  let ms: number;
  if (typeof raw === 'number') ms = epochMs(raw, unit);
  else if (typeof raw === 'string' && raw.length <= 64) {
    const n = unit === 'iso' ? NaN : numberFromText(raw, '.');
    ms = Number.isFinite(n) ? epochMs(n, unit) : unit === 'auto' || unit === 'iso' ? isoMs(raw.trim(), zone)[0] : NaN;
  } else return false;
  // A wall time without an offset in a zone east of UTC reads a little before the epoch.
  return Number.isFinite(ms) && ms >= -DAY_MS && ms < MIN_TS;
}

/** An ISO time's instant, epoch ms (NaN when it is none), and the later one of a wall time `zone` repeats. */
function isoMs(text: string, zone: string): [number, number?] {
  const m = ISO.exec(text);
  if (m === null) return [NaN];
  const [y, mo, d, h = '0', mi = '0', s = '0'] = [m[1], m[2], m[3], m[4], m[5], m[6]];
  const frac = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  if (fields[1] > 11 || fields[2] < 1 || fields[2] > 31 || fields[3] > 23 || fields[4] > 59 || fields[5] > 60) return [NaN];
  const asUtc = Date.UTC(...fields) + frac;
  const offset = m[8];
  if (offset === undefined) {
    if (zone === 'UTC') return [asUtc];
    const [first, second] = wallTimeInstants(asUtc - frac, zone);
    return second === undefined ? [first + frac] : [first + frac, second + frac];
  }
  if (offset.toUpperCase() === 'Z') return [asUtc];
  const sign = offset[0] === '-' ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + (digits.length > 2 ? Number(digits.slice(2)) : 0);
  return [asUtc - sign * minutes * 60_000];
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at the instant `epoch`, in ms (east positive). */
export function zoneOffsetMs(epoch: number, zone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(epoch))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - (epoch - (((epoch % 1000) + 1000) % 1000));
}

/**
 * The instant whose wall-clock time in `zone` is `wall` (a wall time written as if it were UTC): the earlier of
 * the two of a time the zone repeats (clocks go back), and a time in the spring-forward gap read with the offset
 * before the change, so it lands after it (wallTimeInstants).
 */
export function wallTimeToEpoch(wall: number, zone: string): number {
  return wallTimeInstants(wall, zone)[0];
}

/**
 * The instants whose wall-clock time in `zone` is `wall` (a wall time in whole seconds written as if it were UTC),
 * earlier first. Around a change the zone has two offsets, the day before's and the day after's: a wall time that
 * exists once matches one of them; one the zone repeats (clocks go back) matches both, and both are given; one it
 * skips (clocks go forward) matches neither and is read with the offset before the change, so it lands after the
 * change (as JavaScript's own local-time conversion does). The same rule as src/csv/time.ts (zonedToEpoch), in any
 * zone, east or west of UTC.
 */
export function wallTimeInstants(wall: number, zone: string): [number, number?] {
  const before = wall - zoneOffsetMs(wall - DAY_MS, zone);
  const after = wall - zoneOffsetMs(wall + DAY_MS, zone);
  if (before === after) return [before];
  const matches = (t: number): boolean => t + zoneOffsetMs(t, zone) === wall;
  const a = Math.min(before, after);
  const b = Math.max(before, after);
  if (matches(a) && matches(b)) return [a, b];
  if (matches(a)) return [a];
  if (matches(b)) return [b];
  return [before];
}
