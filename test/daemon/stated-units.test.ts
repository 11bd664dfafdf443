/**
 * An episode is told in the units of the readings it describes, not in the unit its hub states now (tryout 15,
 * finding 2): a Tasmota switched from °F to °C (`"TempUnit":"C"`) and back. Readings are never converted, so the
 * sentence and the record keep each figure with its own unit and say the change; a stream whose unit never changed is
 * told as before. SignalBook with the stated unit as the daemon gives it (MessageParser.statedUnit) and its changes
 * (noteUnitChange).
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AnomalyEvent, ScoredReading } from '../../src/contract/types.js';
import { readStoredUnits } from '../../src/daemon/checkpoints.js';
import { SignalBook } from '../../src/daemon/signals.js';
import { unitAt } from '../../src/explain/explain.js';
import { surpriseOf } from '../../src/pipeline/series.js';

const T0 = Date.UTC(2026, 0, 12, 10, 0, 0);
const SEC = 1000;
const STREAM = 'tasmota_th/AM2301.Temperature';
const silent = pino({ level: 'silent' });

function reading(ts: number, value: number, status: ScoredReading['status'] = 'ok', score = 0.5): ScoredReading {
  return { stream: STREAM, ts, channels: ['value'], values: [value], expected: null, spread: null, score, surprise: surpriseOf(score), threshold: 0.999, status, anomalyId: status === 'anomalous' ? 'ep-1' : null, modelId: 'gru' };
}

function event(kind: AnomalyEvent['kind'], startTs: number, endTs: number): AnomalyEvent {
  return { kind, sensor: STREAM, anomalyId: 'ep-1', startTs, endTs, peakScore: 0.9999, score: 0.9999, threshold: 0.999, modelId: 'gru', paddedFraction: 0, channelErrors: [2], channels: ['value'], windows: 3 };
}

/** Every figure a sentence pairs with a unit (a value `21.5 °C`, an expectation `expected 70.7 ± 0.2` in the value's unit unless it names its own): each must be one its unit can be for a room (°C below 40, °F above 50). */
function pairs(sentence: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  const head = new RegExp(`^${STREAM.replace(/[.]/g, '\\.')} (-?[\\d.]+) (°[CF])(?:, expected (-?[\\d.]+) ± [\\d.]+(?: (°[CF]))?)?`).exec(sentence);
  if (head === null) throw new Error(`not a value sentence: ${sentence}`);
  out.push([Number(head[1]), head[2]]);
  if (head[3] !== undefined) out.push([Number(head[3]), head[4] ?? head[2]]);
  return out;
}
const plausible = ([v, u]: [number, string]): boolean => (u === '°C' ? v < 40 : v > 50);

describe('an episode across a unit its hub stated anew', () => {
  it('unitAt: the unit of the last change at or before a time, the first change’s from before it, else the stated one', () => {
    const changes = [
      { ts: 100, from: '°F', to: '°C' },
      { ts: 200, from: '°C', to: '°F' },
    ];
    expect(unitAt('°F', changes, 99)).toBe('°F');
    expect(unitAt('°F', changes, 100)).toBe('°C');
    expect(unitAt('°F', changes, 199)).toBe('°C');
    expect(unitAt('°F', changes, 200)).toBe('°F');
    expect(unitAt('°C', [], 150)).toBe('°C');
    expect(unitAt(null, undefined, 150)).toBeNull();
  });

  it('opened on the change (°F → °C): the value in °C, the expectation in °F, the change said; its resolve after the hub went back to °F keeps each reading’s unit', () => {
    let stated = '°F';
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent, stated: () => stated });
    for (let i = 0; i < 300; i++) book.record(reading(T0 + i * SEC, 70.5 + 0.1 * Math.sin(i)));
    const start = T0 + 300 * SEC;
    // The hub says °C from this reading on (the parser's onUnitChange, as the daemon passes it).
    stated = '°C';
    book.noteUnitChange(STREAM, start, '°F', '°C');
    for (let i = 0; i < 20; i++) book.record(reading(start + i * SEC, 21.5 + 0.05 * Math.sin(i), 'anomalous', 0.9999));
    const open = book.explain(event('open', start, start + 19 * SEC))!;
    expect(open.kind).toBe('level_shift');
    expect(open.sentence).toMatch(/^tasmota_th\/AM2301\.Temperature 21\.5\d* °C, expected 70\.\d+ ± 0\.\d+ °F since 10:05 \(level shift, unit changed °F → °C at 10:05\)$/);
    expect(open).toMatchObject({ unit: '°C', expected_unit: '°F', unit_changes: [{ at: new Date(start).toISOString(), from: '°F', to: '°C' }] });
    expect(open.value!).toBeLessThan(40);
    expect(open.expected!).toBeGreaterThan(50);
    // The unit on the API is that of the latest reading's time.
    expect(book.unitOf(STREAM, start + 19 * SEC)).toBe('°C');
    expect(book.unitOf(STREAM, start - SEC)).toBe('°F');

    // Back to °F (after a restart: its first message stated °F): the episode resolves; its value is a °C reading.
    const back = start + 20 * SEC;
    stated = '°F';
    book.noteUnitChange(STREAM, back, '°C', '°F');
    for (let i = 0; i < 5; i++) book.record(reading(back + i * SEC, 70.5 + 0.1 * Math.sin(i)));
    const resolved = book.explain({ ...event('resolve', start, start + 19 * SEC), resolution: 'recovered' })!;
    for (const p of pairs(resolved.sentence)) expect(plausible(p), `${p.join(' ')} in ${resolved.sentence}`).toBe(true);
    expect(resolved.sentence).toContain('unit changed °F → °C at 10:05, → °F at 10:05');
    expect(resolved.unit).toBe('°C');
    expect(resolved.expected_unit).toBe('°F');
    expect(resolved.unit_changes?.map((c) => [c.from, c.to])).toEqual([
      ['°F', '°C'],
      ['°C', '°F'],
    ]);
  });

  it('a change back that the episode’s kept explanation came before is added to it (tryout 17, finding 2: the resolve after a restart kept the sentence of the update before it, without “→ °F”)', () => {
    // Before the stop: °F, then °C from `start`; the episode told a level shift (its record's explanation).
    let stated = '°F';
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent, stated: () => stated });
    for (let i = 0; i < 300; i++) book.record(reading(T0 + i * SEC, 68.9 + 0.1 * Math.sin(i)));
    const start = T0 + 300 * SEC;
    stated = '°C';
    book.noteUnitChange(STREAM, start, '°F', '°C');
    for (let i = 0; i < 20; i++) book.record(reading(start + i * SEC, 20.4 + 0.1 * Math.sin(i), 'anomalous', 0.9999));
    const update = book.explain(event('update', start, start + 19 * SEC))!;
    expect(update.kind).toBe('level_shift');
    // After a restart whose book holds none of the episode's readings (its record's explanation goes on), the hub
    // says °F again: the episode's readings from then on are °F ones, which tell no kind of their own.
    stated = '°F';
    const after = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent, stated: () => stated, recorded: () => update });
    after.restoreUnitChanges(STREAM, book.unitChangesOf(STREAM));
    const back = start + 60 * SEC;
    after.noteUnitChange(STREAM, back, '°C', '°F');
    for (let i = 0; i < 40; i++) after.record(reading(back + i * SEC, 68.9 + 0.1 * Math.sin(i), i < 30 ? 'anomalous' : 'ok', i < 30 ? 0.9999 : 0.5));
    const resolved = after.explain({ ...event('resolve', start, back + 29 * SEC), resolution: 'recovered' })!;
    expect(resolved.kind).toBe('level_shift');
    expect(resolved.sentence).toMatch(/\(level shift, unit changed °F → °C at 10:05, → °F at 10:06\)$/);
    expect(resolved.unit_changes?.map((c) => [c.at, c.from, c.to])).toEqual([
      [new Date(start).toISOString(), '°F', '°C'],
      [new Date(back).toISOString(), '°C', '°F'],
    ]);
    // Each figure with its own unit still (the value a °C reading, the expectation °F).
    for (const p of pairs(resolved.sentence)) expect(plausible(p), `${p.join(' ')} in ${resolved.sentence}`).toBe(true);
  });

  it('an episode whose readings are all in the unit stated before the change is told in that unit, not the one stated now', () => {
    let stated = '°C';
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent, stated: () => stated });
    for (let i = 0; i < 300; i++) book.record(reading(T0 + i * SEC, 21.5 + 0.05 * Math.sin(i)));
    const start = T0 + 300 * SEC;
    for (let i = 0; i < 20; i++) book.record(reading(start + i * SEC, 25 + 0.05 * Math.sin(i), 'anomalous', 0.9999));
    // The hub says °F from a later reading (not one of the episode's): the episode is told in °C, nothing said.
    stated = '°F';
    book.noteUnitChange(STREAM, start + 600 * SEC, '°C', '°F');
    const e = book.explain(event('open', start, start + 19 * SEC))!;
    expect(e.sentence).toMatch(/^tasmota_th\/AM2301\.Temperature 25\.0\d* °C, expected 21\.\d+ ± 0\.\d+ since 10:05 \(level shift\)$/);
    expect(e.unit).toBe('°C');
    expect(e).not.toHaveProperty('expected_unit');
    expect(e).not.toHaveProperty('unit_changes');
  });

  it('an explain.units pattern wins over what the hub states, and a stream whose unit never changed is told as before', () => {
    const book = new SignalBook({ units: ['*Temperature=K'], timeZone: 'UTC', persist: null, logger: silent, stated: () => '°C' });
    for (let i = 0; i < 300; i++) book.record(reading(T0 + i * SEC, 21.5 + 0.05 * Math.sin(i)));
    const start = T0 + 300 * SEC;
    book.noteUnitChange(STREAM, start, '°F', '°C');
    for (let i = 0; i < 20; i++) book.record(reading(start + i * SEC, 25 + 0.05 * Math.sin(i), 'anomalous', 0.9999));
    const e = book.explain(event('open', start, start + 19 * SEC))!;
    expect(e.sentence).toMatch(/^tasmota_th\/AM2301\.Temperature 25\.0\d* K, expected 21\.\d+ ± 0\.\d+ since 10:05 \(level shift\)$/);
    expect(book.unitChangesOf(STREAM)).toEqual([]);
  });

  it('the stated unit as a checkpoint stores it: read back, a malformed one is none (the stream states its unit anew)', () => {
    const stored = { stated: '°C', changed: true, changes: [{ ts: T0, from: '°F', to: '°C' }] };
    expect(readStoredUnits(JSON.parse(JSON.stringify(stored)))).toEqual(stored);
    expect(readStoredUnits(null)).toBeNull();
    expect(readStoredUnits({ stated: '', changed: false, changes: [] })).toBeNull();
    expect(readStoredUnits({ stated: '°C', changed: 'yes', changes: [] })).toBeNull();
    expect(readStoredUnits({ stated: '°C', changed: false, changes: [{ ts: 'x', from: '°F', to: '°C' }] })).toBeNull();
    // Given back to a book, its explanations tell the readings before the stop in their own unit.
    const book = new SignalBook({ units: [], timeZone: 'UTC', persist: null, logger: silent, stated: () => '°C' });
    book.restoreUnitChanges(STREAM, stored.changes);
    expect(book.unitOf(STREAM, T0 - SEC)).toBe('°F');
    expect(book.unitOf(STREAM, T0)).toBe('°C');
    expect(book.unitChangesOf(STREAM)).toEqual(stored.changes);
  });
});
