import { describe, expect, it, vi } from 'vitest';
import { jsonDepth, MAX_JSON_DEPTH, parseJson } from '../../src/pipeline/decode/json.js';
import { mulberry32 } from '../../src/train/rng.js';
import { numberFromText, previewBytes } from '../../src/pipeline/decode/text.js';
import { timeZoneProblem } from '../../src/config/ingest-rules.js';
import { parseTimestamp, wallTimeToEpoch, zoneOffsetMs } from '../../src/pipeline/decode/time.js';

const T = Date.UTC(2026, 10, 30, 10, 0, 0);

describe('device times', () => {
  it('tells epoch seconds, milliseconds, microseconds and nanoseconds apart by magnitude', () => {
    expect(parseTimestamp(T / 1000)).toBe(T);
    expect(parseTimestamp(T)).toBe(T);
    expect(parseTimestamp(T * 1000)).toBe(T);
    expect(parseTimestamp(T * 1e6)).toBe(T);
    expect(parseTimestamp(`${T / 1000}`)).toBe(T);
    expect(parseTimestamp(1517000483)).toBe(1517000483000);
  });

  it('takes a fixed unit when the rule says so', () => {
    expect(parseTimestamp(T, 'ms')).toBe(T);
    expect(parseTimestamp(T / 1000, 's')).toBe(T);
    expect(parseTimestamp(T * 1000, 'us')).toBe(T);
    expect(parseTimestamp(T, 'iso')).toBeNaN();
  });

  it('reads a time without an offset in the given IANA zone, and honours explicit offsets', () => {
    // Berlin is UTC+1 in November: 11:00 there is 10:00Z.
    expect(parseTimestamp('2026-11-30T11:00:00', 'auto', 'Europe/Berlin')).toBe(T);
    expect(parseTimestamp('2026-11-30 11:00:00', 'auto', 'Europe/Berlin')).toBe(T);
    expect(parseTimestamp('2026-11-30T10:00:00', 'auto', 'UTC')).toBe(T);
    expect(parseTimestamp('2026-11-30T05:00:00', 'auto', 'America/New_York')).toBe(T);
    expect(parseTimestamp('2026-11-30T11:00:00+01:00', 'auto', 'America/New_York')).toBe(T);
    expect(parseTimestamp('2026-11-30T10:00:00Z', 'auto', 'Asia/Tokyo')).toBe(T);
    expect(parseTimestamp('2026-11-30T10:00:00.250', 'auto', 'UTC')).toBe(T + 250);
    // summer time: Berlin is UTC+2 in July
    expect(parseTimestamp('2026-07-01T12:00:00', 'auto', 'Europe/Berlin')).toBe(Date.UTC(2026, 6, 1, 10));
    expect(parseTimestamp('2026-13-01T00:00:00')).toBeNaN();
    expect(parseTimestamp('soon')).toBeNaN();
  });

  it('converts wall times across a daylight-saving change consistently', () => {
    const wall = Date.UTC(2026, 2, 29, 3, 30); // 03:30 in Berlin, just after spring-forward (02:00 -> 03:00)
    const epoch = wallTimeToEpoch(wall, 'Europe/Berlin');
    expect(epoch + zoneOffsetMs(epoch, 'Europe/Berlin')).toBe(wall);
  });

  it('checks zone names', () => {
    expect(timeZoneProblem('Europe/Berlin')).toBeNull();
    expect(timeZoneProblem('Mars/Olympus')).toMatch(/IANA/);
  });
});

describe('numbers as devices write them', () => {
  it('reads a decimal comma only when the rule says so', () => {
    expect(numberFromText('21,5', ',')).toBe(21.5);
    expect(numberFromText('21,5', '.')).toBeNaN();
    expect(numberFromText(' -0,25 ', ',')).toBe(-0.25);
    expect(numberFromText('1.5', '.')).toBe(1.5);
    expect(numberFromText('NaN', '.')).toBe(Infinity);
    expect(numberFromText('1'.repeat(100), '.')).toBeNaN();
  });

  it('previews only the head of a payload, escaped', () => {
    const p = previewBytes(Buffer.alloc(1_000_000, 0x5b));
    expect(p.length).toBeLessThanOrEqual(64);
  });
});

describe('JSON nesting measured on the bytes', () => {
  it('counts brackets outside strings and stops past the limit', () => {
    expect(jsonDepth(Buffer.from('{"a": [1, {"b": 2}]}'))).toBe(3);
    expect(jsonDepth(Buffer.from('{"a": "[[[[[[["}'))).toBe(1);
    expect(jsonDepth(Buffer.from('{"a": "\\"[[[[["}'))).toBe(1);
    expect(jsonDepth(Buffer.from('21.5'))).toBe(0);
    expect(jsonDepth(Buffer.from('['.repeat(100_000)))).toBe(MAX_JSON_DEPTH + 1);
  });
});

describe('JSON parsed as JSON.parse would, junk told without it (tryout 18, finding 7)', () => {
  const viaParse = (text: string): { ok: boolean; doc?: unknown } => {
    try {
      return { ok: true, doc: JSON.parse(text) as unknown };
    } catch {
      return { ok: false };
    }
  };
  const samples = [
    '{', '}', '[', ']', '{}', '[]', ' {"value": 21.5} ', '{"value": 21.5', '"x"', '"', '""', '"a\\"', '"a\\""', 'NaN', 'nan', 'null', 'nul', 'true', 'tru', 'false', 'fals',
    '21.5', '-', '-1', '1.', '1e5', '1e', '{a}', '{"a": [1, 2}', '{"a": "}"}', '{"a": "{"}', '[{"value": 1}]', '\t\n 1 \r', '\u00a01', '\ufeff1', '', '   ', 'abc', '0x10', '{"a":1}}', '[[]', '1 2',
  ];
  it('agrees with JSON.parse on samples and seeded random payloads', () => {
    const r = mulberry32(18_007);
    const alphabet = '{}[]":,-0123456789.eE truefalsn\\ \n';
    const random = Array.from({ length: 5000 }, () => Array.from({ length: 1 + Math.floor(r() * 12) }, () => alphabet[Math.floor(r() * alphabet.length)]).join(''));
    for (const text of [...samples, ...random]) {
      const got = parseJson(Buffer.from(text), text);
      const want = viaParse(text);
      expect(got.ok, text).toBe(want.ok);
      if (got.ok) expect(got.doc, text).toEqual(want.doc);
    }
  });

  it('does not call JSON.parse for a payload that cannot be JSON (its SyntaxError costs 20-30 µs)', () => {
    const spy = vi.spyOn(JSON, 'parse');
    try {
      for (const text of ['{', 'NaN', '{"value": 21.5', 'abc', '"x', '[1, 2', '1e', '']) expect(parseJson(Buffer.from(text), text).ok).toBe(false);
      expect(spy).not.toHaveBeenCalled();
      expect(parseJson(Buffer.from('{"value": 1}'), '{"value": 1}').ok).toBe(true);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});
