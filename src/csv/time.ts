/**
 * Times as recorded files write them: epoch numbers in seconds, milliseconds, microseconds or nanoseconds
 * (told apart by magnitude), or ISO 8601 with or without an offset. A date-time without an offset is read
 * in a time zone the caller names: 'local' (the system zone, the default of the commands), 'UTC', or an
 * IANA zone such as 'Europe/Berlin'; the hour that such a zone repeats when clocks go back has two
 * readings, and the caller picks by order (see ParsedTime.repeated).
 *
 * Magnitude bands (a real clock after 2000 falls in exactly one; 1e11 s is the year 5138, 1e11 ms is 1973):
 *   < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds.
 * The MQTT parser uses the same seconds/milliseconds boundary (src/pipeline/parse.ts).
 */

/** How a time was written. */
export type TimeUnit = 's' | 'ms' | 'us' | 'ns' | 'iso';

/** A time zone for ISO 8601 date-times without an offset: 'local', 'UTC' or an IANA name. */
export type TimeZoneName = string;

/** 2000-01-01T00:00:00Z: an earlier "time" is a counter (an index, an uptime), not a clock. */
export const MIN_TIME_MS = Date.UTC(2000, 0, 1);

const DAY_MS = 86_400_000;
const SECONDS_BELOW = 1e11;
const MILLISECONDS_BELOW = 1e14;
const MICROSECONDS_BELOW = 1e17;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Epoch ms of a time and how it was written. */
export interface ParsedTime {
  /** Epoch ms (may carry a fraction from sub-millisecond units). */
  readonly ms: number;
  readonly unit: TimeUnit;
  /**
   * For ISO 8601 only: true when the time carried its own offset (`Z`, which is UTC, `+hh:mm`, `+hhmm` or
   * `+hh`, either sign), so `zone` played no part in reading it; false when it was read in `zone`.
   */
  readonly offset?: boolean;
  /**
   * For a wall time that occurs twice (the hour repeated when clocks go back), the later instant; `ms` is
   * the earlier. A reader of a series picks the later one when the earlier would go back in time.
   */
  readonly repeated?: number;
}

/**
 * Checks a zone name and returns its canonical form ('local', 'UTC' or the IANA name).
 * Throws RangeError naming the accepted forms for anything else.
 */
export function resolveTimeZone(zone: string): TimeZoneName {
  const z = zone.trim();
  if (z.toLowerCase() === 'local') return 'local';
  if (z.toUpperCase() === 'UTC' || z === 'Z') return 'UTC';
  try {
    return formatterFor(z).resolvedOptions().timeZone;
  } catch {
    throw new RangeError(`unknown time zone '${zone}': want local, UTC or an IANA name such as Europe/Berlin`);
  }
}

/** The system zone's IANA name (what 'local' means now), or 'local' when the runtime cannot name it. */
export function systemTimeZone(): TimeZoneName {
  const name = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  return typeof name === 'string' && name !== '' ? name : 'local';
}

/**
 * Reads one time cell. Returns null when the text is neither an epoch number nor ISO 8601 (the caller
 * words the error, with the file, line and column). `zone` must come from resolveTimeZone.
 */
export function parseTime(text: string, zone: TimeZoneName): ParsedTime | null {
  const t = text.trim();
  if (DECIMAL.test(t)) {
    const v = Number(t);
    if (!Number.isFinite(v)) return null;
    const a = Math.abs(v);
    if (a < SECONDS_BELOW) return { ms: v * 1000, unit: 's' };
    if (a < MILLISECONDS_BELOW) return { ms: v, unit: 'ms' };
    if (a < MICROSECONDS_BELOW) return { ms: v / 1000, unit: 'us' };
    return { ms: v / 1e6, unit: 'ns' };
  }
  const m = ISO_8601.exec(t);
  if (m === null) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((k) => (m[k] === undefined ? 0 : Number(m[k])));
  const fraction = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  // Date.UTC accepts 2026-02-31 (as March 3rd): check the fields survive the round trip.
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(utc);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) {
    return null;
  }
  const offset = m[8];
  if (offset !== undefined) return { ms: utc - offsetMs(offset) + fraction, unit: 'iso', offset: true };
  if (zone === 'UTC') return { ms: utc + fraction, unit: 'iso', offset: false };
  const [first, second] = zonedToEpoch(utc, zone);
  return second === undefined ? { ms: first + fraction, unit: 'iso', offset: false } : { ms: first + fraction, unit: 'iso', offset: false, repeated: second + fraction };
}

/** '+02:00', '+0200', '+02', 'Z' -> ms east of UTC. */
function offsetMs(text: string): number {
  if (text.toUpperCase() === 'Z') return 0;
  const sign = text[0] === '-' ? -1 : 1;
  const digits = text.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

const QUARTER_HOUR_MS = 900_000;
const offsetCache = new Map<string, number>();

/**
 * The zone's offset from UTC at instant `t` (epoch ms), in ms east of UTC. Cached per quarter hour:
 * since 2000 every zone's offset is a multiple of 15 minutes and changes at a whole quarter hour.
 */
function zoneOffsetAt(t: number, zone: string): number {
  // The system zone can change under a running process (TZ set by a test): ask the Date, uncached. A
  // reader of many rows names the zone instead (systemTimeZone), which is cached.
  if (zone === 'local') return -new Date(t).getTimezoneOffset() * 60_000;
  const bucket = Math.floor(t / QUARTER_HOUR_MS);
  const key = `${zone}@${bucket}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const at = bucket * QUARTER_HOUR_MS;
  const fields: Record<string, number> = {};
  for (const p of formatterFor(zone).formatToParts(new Date(at))) if (p.type !== 'literal') fields[p.type] = Number(p.value);
  const offset = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second) - at;
  if (offsetCache.size >= 100_000) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

/**
 * Wall-clock time `wallAsUtc` (the fields read as if UTC) in `zone` ('local' or an IANA name) -> epoch ms.
 * Around a DST change the zone has two offsets (the day before's and the day after's). A wall time that
 * exists once matches one of them; one that repeats (clocks go back) matches both: the earlier instant
 * comes first, the later second. One that is skipped (clocks go forward) is read with the offset before
 * the change, so it lands after the change, as JavaScript's own local-time conversion does.
 */
function zonedToEpoch(wallAsUtc: number, zone: string): [number, number?] {
  const before = wallAsUtc - zoneOffsetAt(wallAsUtc - DAY_MS, zone);
  const after = wallAsUtc - zoneOffsetAt(wallAsUtc + DAY_MS, zone);
  const matching = [...new Set([before, after])].filter((t) => t + zoneOffsetAt(t, zone) === wallAsUtc).sort((a, b) => a - b);
  if (matching.length === 0) return [before];
  return matching.length === 1 ? [matching[0]] : [matching[0], matching[1]];
}
