import { describe, expect, it } from 'vitest';
import {
  addEvents,
  addPoints,
  eventCounts,
  eventRatios,
  falseAlarmsPerDay,
  meanDelay,
  NO_EVENTS,
  NO_POINTS,
  pointCounts,
  pointRatios,
  ratios,
  runsOf,
} from '../../src/eval/metrics.js';

const bits = (s: string): number[] => [...s].map((c) => (c === '1' ? 1 : 0));
const flags = (s: string): boolean[] => [...s].map((c) => c === '1');

describe('runsOf', () => {
  it('finds contiguous runs, including ones touching either end', () => {
    expect(runsOf(bits('1100101'))).toEqual([
      { start: 0, end: 1 },
      { start: 4, end: 4 },
      { start: 6, end: 6 },
    ]);
    expect(runsOf(bits('0000'))).toEqual([]);
    expect(runsOf([])).toEqual([]);
  });
});

describe('point-wise metrics', () => {
  it('counts each row once against its label', () => {
    //                labels     alarms
    const c = pointCounts(bits('0011110000'), flags('0001111100'));
    expect(c).toEqual({ tp: 3, fp: 2, fn: 1, tn: 4 });
    const r = pointRatios(c);
    expect(r.precision).toBeCloseTo(3 / 5);
    expect(r.recall).toBeCloseTo(3 / 4);
    expect(r.f1).toBeCloseTo((2 * 0.6 * 0.75) / 1.35);
  });

  it('gives 0, not NaN, when nothing is claimed or nothing is there', () => {
    expect(ratios(0, 0, 0)).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(pointRatios(pointCounts(bits('0000'), flags('0000')))).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  it('refuses series of different lengths', () => {
    expect(() => pointCounts(bits('01'), flags('011'))).toThrow(RangeError);
    expect(() => eventCounts(bits('01'), flags('011'))).toThrow(RangeError);
  });

  it('pools counts over files', () => {
    const a = pointCounts(bits('0110'), flags('0100'));
    const b = pointCounts(bits('0001'), flags('1001'));
    expect(addPoints(addPoints(NO_POINTS, a), b)).toEqual({ tp: 2, fp: 1, fn: 1, tn: 4 });
  });
});

describe('event-wise metrics (Hundman et al.)', () => {
  it('finds an event with any alarm inside it, once however many alarms it has', () => {
    const c = eventCounts(bits('0111100011100'), flags('0010100000000'));
    expect(c.events).toBe(2);
    expect(c.found).toBe(1);
    expect(c.falseAlarms).toBe(0);
    expect(c.delays).toEqual([1]);
    expect(eventRatios(c)).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3 });
  });

  it('counts each alarm run outside every event as one false positive', () => {
    const c = eventCounts(bits('0000111000000'), flags('1100011000111'));
    expect(c.found).toBe(1);
    expect(c.falseAlarms).toBe(2);
    expect(eventRatios(c).precision).toBeCloseTo(1 / 3);
  });

  it('does not count a run that starts before an event and runs into it as false; its delay is 0', () => {
    const c = eventCounts(bits('0001110'), flags('0111000'));
    expect(c).toEqual({ events: 1, found: 1, falseAlarms: 0, delays: [0] });
  });

  it('averages delays over found events, NaN when none was found', () => {
    const c = addEvents(eventCounts(bits('0111100'), flags('0000100')), eventCounts(bits('1110'), flags('1000')));
    expect(c.delays).toEqual([3, 0]);
    expect(meanDelay(c)).toBe(1.5);
    expect(meanDelay(NO_EVENTS)).toBeNaN();
  });

  it('rates false alarms per day of scored time', () => {
    const c = eventCounts(bits('0000000'), flags('1010100'));
    expect(c.falseAlarms).toBe(3);
    expect(falseAlarmsPerDay(c, 12 * 3_600_000)).toBe(6);
    expect(falseAlarmsPerDay(c, 0)).toBe(0);
  });
});
