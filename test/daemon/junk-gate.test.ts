import { describe, expect, it } from 'vitest';
import { JunkGate, NEW_TOPICS_DETAIL, PER_TOPIC_DETAIL } from '../../src/daemon/junk-gate.js';

/** A gate with small budgets and a clock the test moves (ms). */
function gate(maxTopics = 100): { g: JunkGate; at: { ms: number } } {
  const at = { ms: 0 };
  return { g: new JunkGate({ perTopicRate: 10, perTopicBurst: 5, newTopicsRate: 100, newTopicsBurst: 20, maxTopics, now: () => at.ms }), at };
}

/** Sends `n` messages on `topic`, each rejected when read; returns how many were read (not dropped). */
function junk(g: JunkGate, topic: string, n: number): number {
  let read = 0;
  for (let i = 0; i < n; i++) {
    if (g.check(topic) !== null) continue;
    read++;
    g.rejected(topic);
  }
  return read;
}

describe('JunkGate (tryout 18, finding 7)', () => {
  it('drops a topic’s rejected messages past its burst until its budget refills', () => {
    const { g, at } = gate();
    expect(junk(g, 'sensors/junk', 50)).toBe(5);
    expect(g.check('sensors/junk')).toBe(PER_TOPIC_DETAIL);
    at.ms += 300; // 10 a second: 3 more
    expect(junk(g, 'sensors/junk', 50)).toBe(3);
  });

  it('a reading refills a topic at once and makes it good: the pool of never-good topics does not hold it', () => {
    const { g } = gate();
    expect(junk(g, 'sensors/pump', 5)).toBe(5);
    g.gaveReading('sensors/pump');
    expect(g.check('sensors/pump')).toBeNull();
    // Made-up topics spend the pool (the first 15 of its 20 left after pump's 5), then are dropped together.
    let read = 0;
    for (let i = 0; i < 100; i++) read += junk(g, `sensors/junk-${i}`, 1);
    expect(read).toBe(15);
    expect(g.check('sensors/new-real-sensor')).toBe(NEW_TOPICS_DETAIL);
    // The good topic is still read while the pool is empty.
    expect(g.check('sensors/pump')).toBeNull();
  });

  it('stays bounded: at most maxTopics topics in each table; full budgets are swept', () => {
    const { g, at } = gate(10);
    for (let i = 0; i < 100; i++) {
      g.gaveReading(`sensors/good-${i}`);
      at.ms += 1000;
      junk(g, `sensors/junk-${i}`, 1);
    }
    expect(g.size).toEqual({ good: 10, buckets: 10 });
    at.ms += 10_000;
    g.sweep();
    expect(g.size.buckets).toBe(0);
  });
});
