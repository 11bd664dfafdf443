import { afterEach, describe, expect, it } from 'vitest';
import { parseTime, resolveTimeZone } from '../../src/csv/time.js';

const NOON = Date.UTC(2026, 10, 30, 12);

describe('parseTime', () => {
  it.each([
    ['1796040000', NOON, 's'],
    ['1796040000.5', NOON + 500, 's'],
    ['1796040000000', NOON, 'ms'],
    ['1796040000000000', NOON, 'us'],
    ['1796040000000000000', NOON, 'ns'],
    // The band edges: 1e11 s would be the year 5138, 1e11 ms is 1973.
    ['99999999999', 99_999_999_999_000, 's'],
    ['100000000000', 100_000_000_000, 'ms'],
  ])('reads the epoch number %s by its magnitude', (text, ms, unit) => {
    expect(parseTime(text, 'UTC')).toEqual({ ms, unit });
  });

  it.each([
    ['2026-11-30T12:00:00Z', NOON],
    ['2026-11-30t12:00:00z', NOON],
    ['2026-11-30 13:00:00+01:00', NOON],
    ['2026-11-30T13:00:00+0100', NOON],
    ['2026-11-30T13:00+01', NOON],
    ['2026-11-30T06:30:00-05:30', NOON],
    ['2026-11-30T12:00:00.5Z', NOON + 500],
    ['2026-11-30T12:00:00,123456Z', NOON + 123.456],
  ])('reads ISO 8601 with an offset as that instant: %s', (text, ms) => {
    expect(parseTime(text, 'Europe/Berlin')?.ms).toBeCloseTo(ms, 6);
  });

  it.each([
    ['2026-11-30T12:00:00Z', true],
    ['2026-11-30T12:00:00.250z', true],
    ['2026-11-30 13:00:00+01:00', true],
    ['2026-11-30T13:00:00+0100', true],
    ['2026-11-30T13:00+01', true],
    ['2026-11-30T06:30:00-05:30', true],
    ['2026-11-30 12:00:00 +01:00', true],
    ['2026-11-30T12:00:00', false],
    ['2026-11-30 12:00', false],
    ['2026-11-30', false],
  ])('says whether an ISO 8601 time carried its own offset (Z is UTC, an offset): %s', (text, offset) => {
    expect(parseTime(text, 'Europe/Berlin')?.offset).toBe(offset);
  });

  it.each(['', 'yesterday', '12:00', '30.11.2026 12:00', '2026-13-01', '2026-02-29', '2026-11-30T24:00:00', '2026-11-30T12:60', 'NaN', 'Infinity', '1e400'])(
    'refuses %j',
    (text) => {
      expect(parseTime(text, 'UTC')).toBeNull();
    },
  );

  it('reads a date-time without an offset in the zone given', () => {
    expect(parseTime('2026-11-30 12:00:00', 'UTC')?.ms).toBe(NOON);
    expect(parseTime('2026-11-30 12:00:00', 'Europe/Berlin')?.ms).toBe(NOON - 3600_000); // CET
    expect(parseTime('2026-07-01 12:00:00', 'Europe/Berlin')?.ms).toBe(Date.UTC(2026, 6, 1, 10)); // CEST
    expect(parseTime('2026-11-30 12:00:00', 'Asia/Kolkata')?.ms).toBe(NOON - 5.5 * 3600_000);
    expect(parseTime('2026-11-30 12:00:00', 'America/New_York')?.ms).toBe(NOON + 5 * 3600_000);
  });

  it('reads a wall time a DST change skips after the change, and one it repeats as the earlier instant', () => {
    // Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
    expect(parseTime('2026-03-29 01:59:59', 'Europe/Berlin')?.ms).toBe(Date.UTC(2026, 2, 29, 0, 59, 59));
    expect(parseTime('2026-03-29 02:30:00', 'Europe/Berlin')?.ms).toBe(Date.UTC(2026, 2, 29, 1, 30));
    expect(parseTime('2026-03-29 03:00:00', 'Europe/Berlin')?.ms).toBe(Date.UTC(2026, 2, 29, 1, 0));
    expect(parseTime('2026-10-25 02:30:00', 'Europe/Berlin')).toEqual({ ms: Date.UTC(2026, 9, 25, 0, 30), unit: 'iso', offset: false, repeated: Date.UTC(2026, 9, 25, 1, 30) });
    expect(parseTime('2026-10-25 03:00:00', 'Europe/Berlin')).toEqual({ ms: Date.UTC(2026, 9, 25, 2, 0), unit: 'iso', offset: false });
    expect(parseTime('2026-10-25 02:30:00+01:00', 'Europe/Berlin')).toEqual({ ms: Date.UTC(2026, 9, 25, 1, 30), unit: 'iso', offset: true });
    expect(parseTime('2026-10-25 02:30:00', 'UTC')).toEqual({ ms: Date.UTC(2026, 9, 25, 2, 30), unit: 'iso', offset: false });
  });
});

describe("parseTime in the 'local' zone", () => {
  const saved = process.env.TZ;
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it('is what JavaScript reads as local time', () => {
    process.env.TZ = 'America/Los_Angeles';
    expect(parseTime('2026-11-30 12:00:00', 'local')?.ms).toBe(new Date(2026, 10, 30, 12).getTime());
    expect(parseTime('2026-03-08 02:30:00', 'local')?.ms).toBe(new Date(2026, 2, 8, 2, 30).getTime()); // skipped
  });

  it.each(['UTC', 'Europe/Berlin', 'America/Los_Angeles', 'Australia/Lord_Howe'])('agrees with the named zone when the system zone is %s', (zone) => {
    process.env.TZ = zone;
    for (const text of ['2026-11-30 12:00:00', '2026-07-01T08:15:30', '2026-03-29 02:30:00', '2026-10-25 02:30:00', '2026-10-04 02:15:00', '2026-04-05 01:45:00']) {
      expect(parseTime(text, 'local'), `${text} in ${zone}`).toEqual(parseTime(text, zone));
    }
  });
});

describe('resolveTimeZone', () => {
  it('accepts local, UTC and IANA names, and names the accepted forms otherwise', () => {
    expect(resolveTimeZone('LOCAL')).toBe('local');
    expect(resolveTimeZone('utc')).toBe('UTC');
    expect(resolveTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(() => resolveTimeZone('CEST+1')).toThrow("unknown time zone 'CEST+1': want local, UTC or an IANA name such as Europe/Berlin");
  });
});
