/**
 * EpisodeTicks: which streams with an open episode the daemon checkpoints at a housekeeping tick, outside the
 * periodic interval (src/daemon/checkpoints.ts). A young episode at every tick at which it had readings, an
 * event (open, update, resolve) always, an older episode only at the periodic checkpoint: a stuck 1 Hz sensor
 * wrote its whole state every 2 s for as long as it lasted (≈ 5 GB a day, `node scripts/checkpoint-bytes.mjs .`).
 */
import { describe, expect, it } from 'vitest';
import { EpisodeTicks } from '../../src/daemon/checkpoints.js';

/** Drives `ticks` like the daemon at 1 Hz with a 2 s tick: returns the readings (1-based) after which `s` was due. */
function dueAt(ticks: EpisodeTicks, readings: ReadonlyArray<{ id: string | null; events: number }>): number[] {
  const due: number[] = [];
  readings.forEach((r, i) => {
    ticks.note('s', r.id, r.events);
    if (i % 2 === 1 && ticks.drain().has('s')) due.push(i + 1);
  });
  return due;
}

describe('EpisodeTicks', () => {
  it('a 1,000-reading episode is due at the ticks of its first young readings, at its update and at its resolve, not at every tick', () => {
    const readings = [
      ...Array.from({ length: 10 }, () => ({ id: null, events: 0 })),
      { id: 'e1', events: 1 }, // open
      ...Array.from({ length: 998 }, (_, k) => ({ id: 'e1', events: k === 300 ? 1 : 0 })), // an update at its 302nd reading
      { id: null, events: 1 }, // resolve
      ...Array.from({ length: 9 }, () => ({ id: null, events: 0 })),
    ];
    const due = dueAt(new EpisodeTicks(47), readings);
    // Readings 11 … 57 are the episode's first 47: the ticks after readings 12, 14, …, 58 (reading 58 is its 48th,
    // but the tick also covers reading 57).
    const young = Array.from({ length: 24 }, (_, k) => 12 + 2 * k);
    expect(due).toEqual([...young, 312, 1010]);
  });

  it('a new episode counts from its own open; a stream with none is never due without an event', () => {
    const ticks = new EpisodeTicks(3);
    const r = (id: string | null, events = 0): { id: string | null; events: number } => ({ id, events });
    const due = dueAt(ticks, [r('a', 1), r('a'), r('a'), r('a'), r('a'), r('a'), r('b', 1), r('b'), r('b'), r('b'), r(null), r(null), r(null), r(null)]);
    expect(due).toEqual([2, 4, 8, 10]);
  });

  it('a forgotten stream (evicted) is not due, and its next episode is young again', () => {
    const ticks = new EpisodeTicks(2);
    for (let i = 0; i < 10; i++) ticks.note('s', 'e1', 0);
    ticks.drain();
    ticks.note('s', 'e1', 0);
    ticks.forget('s');
    expect(ticks.drain().has('s')).toBe(false);
    ticks.note('s', 'e1', 0);
    expect(ticks.drain().has('s')).toBe(true);
  });

  it('rejects a count that is not a non-negative integer', () => {
    expect(() => new EpisodeTicks(-1)).toThrow(RangeError);
    expect(() => new EpisodeTicks(1.5)).toThrow(RangeError);
  });
});
